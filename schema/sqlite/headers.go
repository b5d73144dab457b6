package sqlite

import (
	"fmt"

	"github.com/hookscope/hookscope/schema"
)

// Headers are stored as one BLOB: for each header, name 0x00 value 0x00, with
// the two bytes that have a meaning escaped (0x00 → 0x01 0x02, 0x01 → 0x01
// 0x01). The form is cheaper to build and parse than JSON (no quoting, no
// reflection) and a case-insensitive search is one instr(lower(headers), ?)
// with the needle escaped the same way: an escaped needle contains no raw
// 0x00, so a match can never span two fields.

const (
	sepByte = 0x00
	escByte = 0x01
)

func appendEscaped(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case sepByte:
			dst = append(dst, escByte, 0x02)
		case escByte:
			dst = append(dst, escByte, escByte)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// encodeHeaders appends the stored form of hs to dst.
func encodeHeaders(dst []byte, hs []schema.Header) []byte {
	for _, h := range hs {
		dst = appendEscaped(dst, h.Name)
		dst = append(dst, sepByte)
		dst = appendEscaped(dst, h.Value)
		dst = append(dst, sepByte)
	}
	return dst
}

// decodeHeaders parses the stored form; it never returns nil.
func decodeHeaders(b []byte) ([]schema.Header, error) {
	n := 0
	for _, c := range b {
		if c == sepByte {
			n++
		}
	}
	if n%2 != 0 {
		return nil, fmt.Errorf("decode headers: odd number of fields")
	}
	hs := make([]schema.Header, 0, n/2)
	var fields [2]string
	f := 0
	buf := make([]byte, 0, 64)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch c {
		case sepByte:
			fields[f] = string(buf)
			buf = buf[:0]
			f++
			if f == 2 {
				hs = append(hs, schema.Header{Name: fields[0], Value: fields[1]})
				f = 0
			}
		case escByte:
			if i+1 >= len(b) {
				return nil, fmt.Errorf("decode headers: dangling escape")
			}
			i++
			switch b[i] {
			case 0x02:
				buf = append(buf, sepByte)
			case escByte:
				buf = append(buf, escByte)
			default:
				return nil, fmt.Errorf("decode headers: bad escape %#x", b[i])
			}
		default:
			buf = append(buf, c)
		}
	}
	return hs, nil
}

// foldASCII lower-cases ASCII letters only, like SQLite's built-in lower().
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}
