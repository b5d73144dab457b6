package bins

import "testing"

// FuzzParseExpiry: never panics; accepted values are within 1m..3650d.
// (Moved from web with the expiry rules.)
func FuzzParseExpiry(f *testing.F) {
	for _, s := range []string{"24h", "7d", "0d", "-1h", "1m", "99999d", "1e9h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseExpiry(s)
		if err == nil && (d.Minutes() < 1 || d.Hours() > 3650*24) {
			t.Fatalf("%q accepted as %v", s, d)
		}
	})
}
