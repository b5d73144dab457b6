package client

import (
	"strings"
	"testing"
)

func TestParseBinRef(t *testing.T) {
	tests := []struct {
		in               string
		base, bin, token string
		wantErr          bool
	}{
		{in: "http://localhost:8080/h/abc", base: "http://localhost:8080", bin: "abc"},
		{in: "http://localhost:8080/h/abc/stripe/events?x=1", base: "http://localhost:8080", bin: "abc"},
		{in: "https://hooks.example.com/prefix/bins/abc?token=T", base: "https://hooks.example.com/prefix", bin: "abc", token: "T"},
		{in: "http://h:1/api/v1/bins/abc/requests", base: "http://h:1", bin: "abc"},
		{in: "http://h:1/", wantErr: true},
		{in: "ftp://h/h/abc", wantErr: true},
		{in: "abc", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseBinRef(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v", tt.in, err)
			continue
		}
		if err == nil && (got.base != tt.base || got.bin != tt.bin || got.token != tt.token) {
			t.Errorf("%s: %+v", tt.in, got)
		}
	}
}

// FuzzParseBinRef: any input either fails or yields a bin id without a
// slash and a base URL that the input starts with.
func FuzzParseBinRef(f *testing.F) {
	for _, s := range []string{"http://localhost:8080/h/abc", "https://x/p/bins/abc?token=t", "http://h/api/v1/bins/abc/requests", "http://h/h/", "ftp://x/h/a"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ref, err := parseBinRef(in)
		if err != nil {
			return
		}
		if ref.bin == "" || strings.Contains(ref.bin, "/") {
			t.Fatalf("%q: bin %q", in, ref.bin)
		}
		if !strings.HasPrefix(ref.base, "http://") && !strings.HasPrefix(ref.base, "https://") {
			t.Fatalf("%q: base %q", in, ref.base)
		}
	})
}

func TestRedactToken(t *testing.T) {
	for in, want := range map[string]string{
		"https://h.example/bins/abc?token=SECRET": "https://h.example/bins/abc?token=REDACTED",
		"http://user:pw@h/h/abc":                  "http://h/h/abc",
		"http://localhost:8080/h/abc":             "http://localhost:8080/h/abc",
		"http://h/bins/abc?x=1&token=SECRET&y=2":  "http://h/bins/abc?token=REDACTED&x=1&y=2",
	} {
		if got := redactToken(in); got != want || strings.Contains(got, "SECRET") {
			t.Errorf("redactToken(%q) = %q, want %q", in, got, want)
		}
	}
}
