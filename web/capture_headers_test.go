package web

import (
	"slices"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

func TestParseRawHeaders(t *testing.T) {
	h := func(kv ...string) []schema.Header {
		out := []schema.Header{}
		for i := 0; i < len(kv); i += 2 {
			out = append(out, schema.Header{Name: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		raw  string
		want []schema.Header
	}{
		{"empty", "", h()},
		{"order and case kept", "X-B: 2\r\nx-a: 1\r\nContent-Type: application/json\r\n",
			h("X-B", "2", "x-a", "1", "Content-Type", "application/json")},
		{"duplicates kept", "Set: a\r\nSet: b\r\nset: c\r\n", h("Set", "a", "Set", "b", "set", "c")},
		{"colon in value", "Stripe-Signature: t=1,v1=ab:cd\r\n", h("Stripe-Signature", "t=1,v1=ab:cd")},
		{"empty value", "X-Empty:\r\nX-Space:   \r\n", h("X-Empty", "", "X-Space", "")},
		{"spaces and tabs trimmed", "X-A:\t v \t\r\n", h("X-A", "v")},
		{"bare LF", "A: 1\nB: 2\n", h("A", "1", "B", "2")},
		{"no trailing newline", "A: 1\r\nB: 2", h("A", "1", "B", "2")},
		{"folded continuation", "X-Long: one\r\n  two\r\n\tthree\r\nNext: n\r\n", h("X-Long", "one two three", "Next", "n")},
		{"continuation first is skipped", " lost\r\nA: 1\r\n", h("A", "1")},
		{"line without colon skipped", "garbage\r\nA: 1\r\n", h("A", "1")},
		{"binary value kept", "X-Bin: \xff\xfe\x01\r\n", h("X-Bin", "\xff\xfe\x01")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseRawHeaders([]byte(tt.raw))
			if !slices.Equal(got, tt.want) {
				t.Fatalf("parseRawHeaders(%q)\n got %q\nwant %q", tt.raw, got, tt.want)
			}
		})
	}
}

// TestParseRawHeadersCopies: the result must not alias fasthttp's buffer,
// which is reused for the next request on the connection.
func TestParseRawHeadersCopies(t *testing.T) {
	raw := []byte("A: 1\r\nB: 2\r\n")
	got := parseRawHeaders(raw)
	for i := range raw {
		raw[i] = 'x'
	}
	if want := []schema.Header{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}}; !slices.Equal(got, want) {
		t.Fatalf("after reusing the buffer: got %q, want %q", got, want)
	}
}
