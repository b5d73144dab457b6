package schema

import (
	"strings"
	"testing"
)

func TestValidBinID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"1b4e28ba-2fa1-41d2-883f-0016d3cca427", true},
		{"stripe_test-1", true},
		{strings.Repeat("a", MaxBinIDLen), true},
		{"", false},
		{strings.Repeat("a", MaxBinIDLen+1), false},
		{"a.b", false}, // a NATS subject separator
		{"a b", false},
		{"a/b", false},
		{"é", false},
	} {
		if got := ValidBinID(tc.id); got != tc.want {
			t.Errorf("ValidBinID(%q) = %v, want %v", tc.id, got, tc.want)
		}
		if got := ValidBinID([]byte(tc.id)); got != tc.want {
			t.Errorf("ValidBinID([]byte(%q)) = %v, want %v", tc.id, got, tc.want)
		}
	}
}
