package schema

// MaxBinIDLen bounds a bin id. Server-made ids are UUIDs (36 bytes); older
// or hand-made ones are short tokens.
const MaxBinIDLen = 64

// ValidBinID reports whether id can name a bin: 1..MaxBinIDLen bytes of
// [A-Za-z0-9_-]. The alphabet also makes a bin id a valid NATS subject
// token and capture-log key. It takes bytes too, so the capture path can
// check fasthttp's buffer without copying it.
func ValidBinID[T ~string | ~[]byte](id T) bool {
	if len(id) == 0 || len(id) > MaxBinIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
