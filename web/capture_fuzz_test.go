package web

import (
	"strings"
	"testing"
)

// FuzzParseRawHeaders: any header block parses without panicking, and each
// well-formed line comes back with its name and value, in order.
func FuzzParseRawHeaders(f *testing.F) {
	f.Add("Host: x\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n")
	f.Add("A:\r\n folded\r\n\tmore\r\nB:no-space\n")
	f.Add(":\r\n\r\n\x00: \xff\r\n")
	f.Fuzz(func(t *testing.T, raw string) {
		hs := parseRawHeaders([]byte(raw))
		n := 0
		for _, line := range strings.Split(raw, "\n") {
			line = strings.TrimSuffix(line, "\r")
			if line == "" || line[0] == ' ' || line[0] == '\t' {
				continue
			}
			if strings.Contains(line, ":") {
				n++
			}
		}
		if len(hs) > n {
			t.Fatalf("%d headers from %d candidate lines", len(hs), n)
		}
		for _, h := range hs {
			if strings.ContainsAny(h.Name, "\r\n") {
				t.Fatalf("name %q spans lines", h.Name)
			}
		}
	})
}
