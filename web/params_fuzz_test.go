package web

import (
	"bytes"
	"testing"
)

// FuzzLookupRoute: any method and path either matches no route or one
// whose pattern has as many segments as the path; never a panic.
func FuzzLookupRoute(f *testing.F) {
	f.Add("GET", "/api/v1/bins/x/requests")
	f.Add("DELETE", "/API/V1/BINS/x/REQUESTS/")
	f.Add("HEAD", "//api//v1")
	f.Add("PATCH", "/api/v1/alerts/rules/\x00/test")
	f.Fuzz(func(t *testing.T, method, path string) {
		rp := lookupRoute(method, path)
		if rp != nil && len(rp.pattern) != len(split(path)) {
			t.Fatalf("%s %q matched %v", method, path, rp.pattern)
		}
	})
}

// FuzzCountHeaderLines: the header count that the 431 check uses never
// exceeds the number of line ends plus one, and counts exactly the field
// lines of a well-formed block.
func FuzzCountHeaderLines(f *testing.F) {
	f.Add([]byte("Host: x\r\nA: b\r\n\r\n"))
	f.Add([]byte("A: b\r\n folded\r\nC: d\r\n"))
	f.Add([]byte("\r\n\r\n\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n := countHeaderLines(raw)
		if n < 0 || n > bytes.Count(raw, []byte{'\n'})+1 {
			t.Fatalf("%d header lines in %q", n, raw)
		}
	})
}
