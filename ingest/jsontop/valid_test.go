package jsontop

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestValid(t *testing.T) {
	for _, c := range []string{
		``, ` `, `{`, `}`, `{}`, ` {} `, `[]`, `[ ]`, `[1,]`, `[,1]`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{a:1}`, `{"a":1 "b":2}`,
		`"x"`, `"x`, `"\"`, `"\u00e9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, "\"a\tb\"", "\"\xff\xfe\"", `"\/\b\f\n\r\t\\"`,
		`0`, `-0`, `01`, `-`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-`, `1e`, `-1.5e-3`, `- 1`, `1 2`,
		`true`, `tru`, `truex`, `false`, `null`, `nul`, `nulll`, `[true,false,null]`, `{"a":[1,{"b":null}],"c":"}"}`,
		`[}`, `{]`, `[[]`, `[]]`, `{"a":1}}`, "\t\r\n[1]\n", "[1]\x00", `{"a":1}{"b":2}`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	} {
		if got, want := Valid([]byte(c)), json.Valid([]byte(c)); got != want {
			name := c
			if len(name) > 40 {
				name = name[:40] + "..."
			}
			t.Errorf("Valid(%q) = %v, json.Valid says %v", name, got, want)
		}
	}
}

// FuzzValid: Valid agrees with encoding/json.Valid on every input.
func FuzzValid(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,{"c":"}"}],"a":"x"}`, `[1,"2",{"3":4},[5]]`, `{"k\"":"\\"}`, ` {} `, `-0.5e+7`, `"\u12ab"`, `[[[[]]]]`, `tru`, `nul`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := Valid(body), json.Valid(body); got != want {
			t.Fatalf("Valid(%q) = %v, json.Valid says %v", body, got, want)
		}
	})
}

func BenchmarkValid(b *testing.B) {
	body := []byte(`{"id":"evt_1Pq2Rs3Tu4Vw5Xy6Za7Bc8De","object":"event","type":"payment_intent.succeeded","data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","amount":2000,"currency":"usd","metadata":{"order_id":"1042"},"pad":"` +
		strings.Repeat("x", 850) + `"}}}`)
	for _, v := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsontop", Valid}, {"encoding-json", json.Valid}} {
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if !v.valid(body) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
