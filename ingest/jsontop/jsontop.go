// Package jsontop reads the top level of a JSON document without decoding
// it: the members of an object or the elements of an array, as raw byte
// slices of the input. It exists for the capture path, which must learn a
// few fields of hostile bodies (a signed timestamp, an event type) in linear
// time, without allocating and without building the whole tree.
//
// Every function here requires input that Valid (or encoding/json.Valid,
// which gives the same answer more slowly) accepted; call it once per body,
// then walk as often as needed. Nested values can be walked again with the
// same functions (a value of a valid document is valid).
package jsontop

import "encoding/json"

// Members calls fn for each member of the top-level object in body, in
// order, with the raw key token (quotes included) and the raw value; of
// duplicate keys every occurrence is passed (JSON.parse and encoding/json
// keep the last). fn returns false to stop. Members reports whether body is
// an object.
func Members(body []byte, fn func(key, value []byte) bool) bool {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipWS(body, i+1)
	for i < len(body) && body[i] != '}' {
		kEnd := stringEnd(body, i)
		key := body[i:kEnd]
		i = skipWS(body, kEnd)
		i = skipWS(body, i+1) // ':'
		vEnd := valueEnd(body, i)
		if !fn(key, body[i:vEnd]) {
			return true
		}
		i = skipWS(body, vEnd)
		if i < len(body) && body[i] == ',' {
			i = skipWS(body, i+1)
		}
	}
	return true
}

// Elements calls fn for each element of the top-level array in body, in
// order; fn returns false to stop. Elements reports whether body is an array.
func Elements(body []byte, fn func(value []byte) bool) bool {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '[' {
		return false
	}
	i = skipWS(body, i+1)
	for i < len(body) && body[i] != ']' {
		vEnd := valueEnd(body, i)
		if !fn(body[i:vEnd]) {
			return true
		}
		i = skipWS(body, vEnd)
		if i < len(body) && body[i] == ',' {
			i = skipWS(body, i+1)
		}
	}
	return true
}

// maxEscapedKey bounds the raw keys KeyIs decodes: a key with escapes is at
// most six bytes per character of name.
const maxEscapedKey = 6

// KeyIs reports whether the raw key token names name, decoding escapes
// ("webhook\u0054imestamp" is "webhookTimestamp" to every JSON parser).
// Only a key that contains a backslash and is short enough to be name
// spelled with escapes is decoded, so it allocates only then.
func KeyIs(raw []byte, name string) bool {
	if len(raw) == len(name)+2 && string(raw[1:len(raw)-1]) == name {
		return true
	}
	if len(raw) > maxEscapedKey*len(name)+2 || !hasByte(raw, '\\') {
		return false
	}
	var s string
	return json.Unmarshal(raw, &s) == nil && s == name
}

// String decodes a raw JSON string value of at most max raw bytes; ok is
// false for any other value or a longer one. A string without escapes costs
// one copy.
func String(raw []byte, max int) (string, bool) {
	if len(raw) < 2 || raw[0] != '"' || len(raw) > max {
		return "", false
	}
	if !hasByte(raw, '\\') {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func hasByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the string token starting at b[i] == '"'.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return len(b)
}

// valueEnd returns the index after the value starting at b[i].
func valueEnd(b []byte, i int) int {
	if i >= len(b) {
		return len(b)
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = stringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return len(b)
	}
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' && b[i] != '\r' {
		i++
	}
	return i
}
