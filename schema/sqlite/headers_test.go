package sqlite

import (
	"bytes"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func mustV7(t testing.TB) uuid.UUID {
	t.Helper()
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHeadersRoundTrip(t *testing.T) {
	for _, hs := range [][]schema.Header{
		{},
		{{Name: "A", Value: "1"}, {Name: "A", Value: "1"}},
		{{Name: "", Value: ""}},
		{{Name: "X\x00Y", Value: "\x01\x00\x01\x02"}, {Name: "ü", Value: "日本"}},
	} {
		got, err := decodeHeaders(encodeHeaders(nil, hs))
		if err != nil || !slices.Equal(got, hs) {
			t.Errorf("round trip %q = %q, %v", hs, got, err)
		}
	}
}

// FuzzHeaders: any list round-trips, and a needle found by the stored-form
// search is inside one name or one value.
func FuzzHeaders(f *testing.F) {
	f.Add("Content-Type", "application/json", "X-A", "b\x00c", "json")
	f.Add("", "", "\x01", "\x02", "\x01\x02")
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2, q string) {
		hs := []schema.Header{{Name: n1, Value: v1}, {Name: n2, Value: v2}}
		enc := encodeHeaders(nil, hs)
		got, err := decodeHeaders(enc)
		if err != nil || !slices.Equal(got, hs) {
			t.Fatalf("round trip %q = %q, %v", hs, got, err)
		}
		if q == "" {
			return
		}
		stored := bytes.Contains(enc, appendEscaped(nil, q))
		direct := false
		for _, h := range hs {
			direct = direct || bytes.Contains([]byte(h.Name), []byte(q)) || bytes.Contains([]byte(h.Value), []byte(q))
		}
		if direct && !stored {
			t.Fatalf("needle %q in %q not found in stored form", q, hs)
		}
		if stored && !direct && !bytes.ContainsAny([]byte(q), "\x01\x02") {
			t.Fatalf("needle %q matched stored form of %q across fields", q, hs)
		}
	})
}

func TestDecodeHeadersRejectsGarbage(t *testing.T) {
	for _, b := range [][]byte{{'a', 0}, {'a', 1}, {1, 9, 0, 0}} {
		if _, err := decodeHeaders(b); err == nil {
			t.Errorf("decodeHeaders(%q) accepted garbage", b)
		}
	}
}
