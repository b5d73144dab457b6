package jsontop

// maxDepth is encoding/json's nesting limit: a document nested deeper is
// invalid to json.Valid, so it is invalid here too.
const maxDepth = 10000

// Valid reports whether body is exactly one JSON value, optionally
// surrounded by whitespace: the same answer as encoding/json.Valid
// (FuzzValid compares them), including its nesting limit, and like it
// without checking that strings are valid UTF-8. It makes one pass, does
// not allocate, and is several times faster than json.Valid, whose state
// machine costs a function call per byte; capture validates every body it
// reads fields from, so this is on the hot path.
func Valid(body []byte) bool {
	var (
		kinds [maxDepth/64 + 1]uint64 // bit set: the container at that depth is an object
		depth int
		i     int
		obj   bool
	)
value:
	i = skipWS(body, i)
	if i >= len(body) {
		return false
	}
	switch c := body[i]; c {
	case '{':
		if depth >= maxDepth {
			return false
		}
		if i = skipWS(body, i+1); i < len(body) && body[i] == '}' {
			i++
			goto end
		}
		kinds[depth>>6] |= 1 << (depth & 63)
		depth++
		goto key
	case '[':
		if depth >= maxDepth {
			return false
		}
		if i = skipWS(body, i+1); i < len(body) && body[i] == ']' {
			i++
			goto end
		}
		kinds[depth>>6] &^= 1 << (depth & 63)
		depth++
		goto value
	case '"':
		i = validString(body, i)
	case 't':
		i = literal(body, i, "true")
	case 'f':
		i = literal(body, i, "false")
	case 'n':
		i = literal(body, i, "null")
	default:
		if c != '-' && (c < '0' || c > '9') {
			return false
		}
		i = validNumber(body, i)
	}
	if i < 0 {
		return false
	}
end: // after a value
	i = skipWS(body, i)
	if depth == 0 {
		return i == len(body)
	}
	if i >= len(body) {
		return false
	}
	obj = kinds[(depth-1)>>6]>>((depth-1)&63)&1 == 1
	switch body[i] {
	case ',':
		i = skipWS(body, i+1)
		if obj {
			goto key
		}
		goto value
	case '}':
		if !obj {
			return false
		}
	case ']':
		if obj {
			return false
		}
	default:
		return false
	}
	depth--
	i++
	goto end
key: // at a member's key, whitespace skipped
	if i >= len(body) || body[i] != '"' {
		return false
	}
	if i = validString(body, i); i < 0 {
		return false
	}
	if i = skipWS(body, i); i >= len(body) || body[i] != ':' {
		return false
	}
	i++
	goto value
}

// strPlain marks the bytes a JSON string may hold unescaped as they are
// (everything but control characters, the quote and the backslash).
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// validString returns the index after the string token at b[i] == '"', or
// -1 when it is not a valid one.
func validString(b []byte, i int) int {
	for i++; i < len(b); i++ {
		if strPlain[b[i]] {
			continue
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++
			if i >= len(b) {
				return -1
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1
				}
				i += 4
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
	return -1
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// validNumber returns the index after the number at b[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func validNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// literal returns the index after lit at b[i], or -1.
func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}
