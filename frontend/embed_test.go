package frontend

import (
	"io/fs"
	"strings"
	"testing"
)

// The embedded build must have an index.html whose scripts and styles are
// external files that exist in the same FS (the CSP forbids inline ones).
func TestDistIndex(t *testing.T) {
	d := Dist()
	b, err := fs.ReadFile(d, "index.html")
	if err != nil {
		t.Fatalf("read index.html: %v", err)
	}
	html := string(b)
	for _, bad := range []string{"<script>", "style=", "<style"} {
		if strings.Contains(html, bad) {
			t.Errorf("index.html contains inline %q; the CSP forbids it", bad)
		}
	}
	refs := 0
	for _, attr := range []string{`src="/`, `href="/`} {
		for rest := html; ; {
			i := strings.Index(rest, attr)
			if i < 0 {
				break
			}
			rest = rest[i+len(attr):]
			name := rest[:strings.IndexByte(rest, '"')]
			if _, err := fs.Stat(d, name); err != nil {
				t.Errorf("index.html references /%s, missing from dist: %v", name, err)
			}
			refs++
		}
	}
	if refs < 2 {
		t.Errorf("index.html references %d assets, want the script and the stylesheet at least", refs)
	}
}
