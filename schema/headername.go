package schema

import "strings"

// IsHeaderToken reports whether n is an RFC 9110 token: the characters a
// header name may have (visible ASCII but the separators), at least one.
// Callers bound the length for their own purpose.
func IsHeaderToken(n string) bool {
	if n == "" {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
