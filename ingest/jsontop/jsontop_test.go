package jsontop

import (
	"bytes"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

type member struct{ key, value string }

func members(t *testing.T, body string) ([]member, bool) {
	t.Helper()
	var out []member
	ok := Members([]byte(body), func(k, v []byte) bool {
		out = append(out, member{string(k), string(v)})
		return true
	})
	return out, ok
}

func TestMembers(t *testing.T) {
	for _, c := range []struct {
		body   string
		object bool
		want   []member
	}{
		{`{}`, true, nil},
		{` { "a" : 1 , "b":"x,}" ,"c":{"d":[1,{"e":"]"}]},"a":null } `, true, []member{{`"a"`, `1`}, {`"b"`, `"x,}"`}, {`"c"`, `{"d":[1,{"e":"]"}]}`}, {`"a"`, `null`}}},
		{`{"k\"ey":"v\\"}`, true, []member{{`"k\"ey"`, `"v\\"`}}},
		{`[1,2]`, false, nil},
		{`"s"`, false, nil},
		{`null`, false, nil},
	} {
		got, ok := members(t, c.body)
		if ok != c.object || len(got) != len(c.want) {
			t.Fatalf("%s: object=%v members=%q, want %v %q", c.body, ok, got, c.object, c.want)
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: member %d = %q, want %q", c.body, i, got[i], c.want[i])
			}
		}
	}
}

func TestMembersStops(t *testing.T) {
	n := 0
	Members([]byte(`{"a":1,"b":2,"c":3}`), func(k, v []byte) bool { n++; return n < 2 })
	if n != 2 {
		t.Fatalf("fn called %d times after returning false at 2", n)
	}
}

func TestElements(t *testing.T) {
	var got []string
	ok := Elements([]byte(` [ {"a":[1]} , "x]" ,3,[ ] ] `), func(v []byte) bool { got = append(got, string(v)); return true })
	want := []string{`{"a":[1]}`, `"x]"`, `3`, `[ ]`}
	if !ok || len(got) != len(want) {
		t.Fatalf("got %v %q", ok, got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("element %d = %q, want %q", i, got[i], want[i])
		}
	}
	if Elements([]byte(`{"a":1}`), func([]byte) bool { return true }) {
		t.Error("an object is not an array")
	}
}

func TestKeyIsAndString(t *testing.T) {
	for _, c := range []struct {
		raw, name string
		want      bool
	}{
		{`"type"`, "type", true},
		{`"typ\u0065"`, "type", true},
		{`"Type"`, "type", false},
		{`"type "`, "type", false},
		{`"\u0074\u0079\u0070\u0065"`, "type", true},
	} {
		if got := KeyIs([]byte(c.raw), c.name); got != c.want {
			t.Errorf("KeyIs(%s, %q) = %v", c.raw, c.name, got)
		}
	}
	if s, ok := String([]byte(`"a\nb\u00e9"`), 100); !ok || s != "a\nbé" {
		t.Errorf("String = %q %v", s, ok)
	}
	if _, ok := String([]byte(`"`+string(bytes.Repeat([]byte("x"), 50))+`"`), 10); ok {
		t.Error("String accepted a value longer than max")
	}
	if _, ok := String([]byte(`12`), 10); ok {
		t.Error("String accepted a number")
	}
}

// FuzzMembers checks Members and Elements against encoding/json's decoder
// walking the same top level.
func FuzzMembers(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,{"c":"}"}],"a":"x"}`, `[1,"2",{"3":4},[5]]`, `{"k\"":"\\"}`, ` {} `, `[]`, `"x"`, `{"a":{"b":{"c":[[[]]]}}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		tok, _ := dec.Token()
		var wantKeys, wantVals []string
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					t.Fatal(err)
				}
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				wantKeys, wantVals = append(wantKeys, k.(string)), append(wantVals, compact(t, v))
			}
			var gotKeys, gotVals []string
			if !Members(body, func(k, v []byte) bool {
				var ks string
				if err := json.Unmarshal(k, &ks); err != nil {
					t.Fatalf("raw key %q: %v", k, err)
				}
				// encoding/json turns invalid UTF-8 into U+FFFD; KeyIs
				// compares such bytes as they are (names are ASCII).
				if utf8.Valid(k) && !KeyIs(k, ks) {
					t.Fatalf("KeyIs(%q, %q) = false", k, ks)
				}
				gotKeys, gotVals = append(gotKeys, ks), append(gotVals, compact(t, v))
				return true
			}) {
				t.Fatalf("%q: not an object", body)
			}
			equal(t, body, gotKeys, wantKeys)
			equal(t, body, gotVals, wantVals)
		case json.Delim('['):
			for dec.More() {
				var v json.RawMessage
				if err := dec.Decode(&v); err != nil {
					t.Fatal(err)
				}
				wantVals = append(wantVals, compact(t, v))
			}
			var gotVals []string
			if !Elements(body, func(v []byte) bool { gotVals = append(gotVals, compact(t, v)); return true }) {
				t.Fatalf("%q: not an array", body)
			}
			equal(t, body, gotVals, wantVals)
		default:
			if Members(body, func([]byte, []byte) bool { return true }) || Elements(body, func([]byte) bool { return true }) {
				t.Fatalf("%q: a scalar walked as a container", body)
			}
		}
	})
}

func compact(t *testing.T, v []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		t.Fatalf("value %q is not JSON: %v", v, err)
	}
	return b.String()
}

func equal(t *testing.T, body []byte, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%q: got %q, want %q", body, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%q: item %d = %q, want %q", body, i, got[i], want[i])
		}
	}
}
