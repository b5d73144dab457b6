package diff

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func mk(body string, hs ...schema.Header) *schema.Request {
	return &schema.Request{ID: uuid.New(), Method: "POST", Path: "/x", Headers: hs, Body: []byte(body), BodySize: int64(len(body))}
}

func h(n, v string) schema.Header { return schema.Header{Name: n, Value: v} }

// asJSON renders entries the way the API sends them, for compact asserts.
func asJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCompareFieldsHeadersQuery(t *testing.T) {
	a := mk("", h("X-Attempt", "1"), h("Accept", "*/*"), h("X-Gone", "a"), h("Set", "1"), h("set", "2"))
	b := mk("", h("x-attempt", "2"), h("Accept", "*/*"), h("X-New", "n"), h("Set", "1"))
	a.Query, b.Query = "a=1&b=x%20y&c=3", "a=1&b=x+z&d=4"
	b.Method, b.ResponseStatus = "PUT", 500
	r := Compare(a, b)
	if got, want := asJSON(t, r.Fields), `{"method":{"from":"POST","to":"PUT"},"response_status":{"from":0,"to":500}}`; got != want {
		t.Errorf("fields = %s, want %s", got, want)
	}
	if got, want := asJSON(t, r.Headers), `[{"name":"x-attempt","op":"changed","from":"1","to":"2"},{"name":"X-New","op":"added","to":"n"},{"name":"Set","op":"changed","from":"1, 2","to":"1"},{"name":"X-Gone","op":"removed","from":"a"}]`; got != want {
		t.Errorf("headers = %s\nwant %s", got, want)
	}
	if got, want := asJSON(t, r.Query), `[{"name":"b","op":"changed","from":"x y","to":"x z"},{"name":"d","op":"added","to":"4"},{"name":"c","op":"removed","from":"3"}]`; got != want {
		t.Errorf("query = %s\nwant %s", got, want)
	}
	if r.Body.Kind != "same" {
		t.Errorf("body kind %q", r.Body.Kind)
	}
	// Nothing changed: empty lists, never null.
	if got := asJSON(t, Compare(a, a)); !strings.Contains(got, `"headers":[],"query":[]`) {
		t.Errorf("no changes = %s", got)
	}
}

func TestCompareJSON(t *testing.T) {
	a := mk(`{"type":"charge.succeeded","data":{"object":{"amount":2000,"paid":true,"tags":["a","b"],"x.y":1}},"gone":{"k":1}}`)
	b := mk(`{"type":"charge.refunded","data":{"object":{"amount":2000,"paid":false,"tags":["a","c","d"],"x.y":2}},"new":null}`)
	r := Compare(a, b)
	if r.Body.Kind != "json" {
		t.Fatalf("kind %q", r.Body.Kind)
	}
	want := `[{"name":"$.data.object.paid","op":"changed","from":true,"to":false},` +
		`{"name":"$.data.object.tags[1]","op":"changed","from":"b","to":"c"},` +
		`{"name":"$.data.object.tags[2]","op":"added","to":"d"},` +
		`{"name":"$.data.object[\"x.y\"]","op":"changed","from":1,"to":2},` +
		`{"name":"$.gone","op":"removed","from":{"k":1}},` +
		`{"name":"$.new","op":"added"},` +
		`{"name":"$.type","op":"changed","from":"charge.succeeded","to":"charge.refunded"}]`
	if got := asJSON(t, r.Body.JSON); got != want {
		t.Errorf("json = %s\nwant %s", got, want)
	}
	// A type change at the root, and a cap on entries.
	if got := asJSON(t, Compare(mk(`[1]`), mk(`{"a":1}`)).Body.JSON); got != `[{"name":"$","op":"changed","from":[1],"to":{"a":1}}]` {
		t.Errorf("root change = %s", got)
	}
	var big strings.Builder
	big.WriteString("{")
	for i := range MaxEntries + 10 {
		if i > 0 {
			big.WriteString(",")
		}
		fmt.Fprintf(&big, `"k%d":%d`, i, i)
	}
	big.WriteString("}")
	r = Compare(mk(`{}`), mk(big.String()))
	if len(r.Body.JSON) != MaxEntries || !r.Body.Truncated {
		t.Errorf("%d entries, truncated %v; want %d, true", len(r.Body.JSON), r.Body.Truncated, MaxEntries)
	}
	// A large value is summarised.
	long := `{"s":"` + strings.Repeat("x", 5000) + `"}`
	e := Compare(mk(`{}`), mk(long)).Body.JSON[0]
	if s, _ := e.To.(string); len(s) > MaxValueBytes+len("…") {
		t.Errorf("value of %d bytes not bounded", len(s))
	}
}

func TestCompareText(t *testing.T) {
	r := Compare(mk("line one\nline two\nline three\n"), mk("line one\nline 2\nline three\nline four\n"))
	if r.Body.Kind != "text" {
		t.Fatalf("kind %q", r.Body.Kind)
	}
	want := `[{"op":"equal","lines":["line one"]},{"op":"delete","lines":["line two"]},{"op":"insert","lines":["line 2"]},{"op":"equal","lines":["line three"]},{"op":"insert","lines":["line four"]}]`
	if got := asJSON(t, r.Body.Lines); got != want {
		t.Errorf("lines = %s\nwant %s", got, want)
	}
	// JSON against text is a text diff.
	if k := Compare(mk(`{"a":1}`), mk("a=1")).Body.Kind; k != "text" {
		t.Errorf("json vs text: kind %q", k)
	}
}

func TestCompareBinary(t *testing.T) {
	a, b := mk("\x00\x01\x02\x03"), mk("\x00\x01\xff\x03\x04")
	b.BodyTruncated = true
	r := Compare(a, b)
	if r.Body.Kind != "binary" || r.Body.FirstDifference == nil || *r.Body.FirstDifference != 2 {
		t.Fatalf("binary = %+v", r.Body)
	}
	if r.Body.From.Stored != 4 || r.Body.To.Stored != 5 || !r.Body.To.Truncated || r.Body.From.SHA256 == r.Body.To.SHA256 {
		t.Errorf("sides = %+v %+v", r.Body.From, r.Body.To)
	}
}

// BenchmarkCompareLines: two 1 MiB texts that differ everywhere stay
// within the time budget.
func BenchmarkCompareLines(b *testing.B) {
	var x, y strings.Builder
	for i := range 40_000 {
		fmt.Fprintf(&x, "line %d of a\n", i)
		fmt.Fprintf(&y, "line %d of b\n", i*7)
	}
	for b.Loop() {
		compareLines(x.String(), y.String())
	}
}

// FuzzCompare: any two bodies compare without panicking, within the caps.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(`{"a":[1,{"b":2}]}`), []byte(`{"a":[1,{"b":3},4]}`))
	f.Add([]byte("a\nb\n"), []byte("a\nc"))
	f.Add([]byte{0, 1}, []byte(`[]`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		r := Compare(mk(string(a)), mk(string(b)))
		if len(r.Body.JSON) > MaxEntries || len(r.Body.Lines) > MaxEntries {
			t.Fatalf("%d json entries, %d hunks", len(r.Body.JSON), len(r.Body.Lines))
		}
		if (r.Body.Kind == "same") != (string(a) == string(b)) {
			t.Fatalf("kind %q for equal=%v", r.Body.Kind, string(a) == string(b))
		}
	})
}
