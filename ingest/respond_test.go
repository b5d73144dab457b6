package ingest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/schema"
)

// TestTemplateFieldsAgree: what bins accepts as {{request.<field>}} is
// exactly what Render fills.
func TestTemplateFieldsAgree(t *testing.T) {
	if !slices.Equal(bins.TemplateRequestFields(), RequestFields) {
		t.Fatalf("bins accepts %v, Render fills %v", bins.TemplateRequestFields(), RequestFields)
	}
	r := &schema.Request{ID: uuid.New()}
	for _, f := range RequestFields {
		if _, ok := requestField(r, f); !ok {
			t.Errorf("request.%s not rendered", f)
		}
	}
}

func TestRenderEscapesForTheContentType(t *testing.T) {
	r := &schema.Request{
		ID:      uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057"),
		Method:  "POST",
		Headers: []schema.Header{{Name: "X-Name", Value: `<b>"Zoë" & co</b>`}},
		Query:   "q=%3Cscript%3E&q=second",
		Body:    []byte(`{"user":{"name":"a\"b\\c</script>"},"n":42,"list":[1,2]}`),
	}
	tmpl := `{{request.id}}|{{ header.x-name }}|{{query.q}}|{{body.user.name}}|{{body.n}}|{{body.list}}|{{body.none}}|{{other}}|{{request.nope}}`
	for _, tc := range []struct{ ct, want string }{
		{"application/json", `01890a5d-ac96-774b-bcce-b302099a8057|\u003cb\u003e\"Zoë\" \u0026 co\u003c/b\u003e|\u003cscript\u003e|a\"b\\c\u003c/script\u003e|42|[1,2]||{{other}}|{{request.nope}}`},
		{"application/problem+json; charset=utf-8", `01890a5d-ac96-774b-bcce-b302099a8057|\u003cb\u003e\"Zoë\" \u0026 co\u003c/b\u003e|\u003cscript\u003e|a\"b\\c\u003c/script\u003e|42|[1,2]||{{other}}|{{request.nope}}`},
		{"text/html", `01890a5d-ac96-774b-bcce-b302099a8057|&lt;b&gt;&#34;Zoë&#34; &amp; co&lt;/b&gt;|&lt;script&gt;|a&#34;b\c&lt;/script&gt;|42|[1,2]||{{other}}|{{request.nope}}`},
		{"text/plain", `01890a5d-ac96-774b-bcce-b302099a8057|<b>"Zoë" & co</b>|<script>|a"b\c</script>|42|[1,2]||{{other}}|{{request.nope}}`},
		{"", `01890a5d-ac96-774b-bcce-b302099a8057|<b>"Zoë" & co</b>|<script>|a"b\c</script>|42|[1,2]||{{other}}|{{request.nope}}`},
	} {
		got := string(Render(tmpl, r, escaperFor([]schema.Header{{Name: "content-type", Value: tc.ct}})))
		if got != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.ct, got, tc.want)
		}
	}
}

func TestRenderIsBounded(t *testing.T) {
	r := &schema.Request{Body: []byte(`{"big":"` + strings.Repeat("x", 600<<10) + `"}`)}
	out := Render("{{body.big}}{{body.big}}{{body.big}}", r, escaperFor(nil))
	if len(out) != MaxTemplateOutput {
		t.Fatalf("output %d bytes, want the cap %d", len(out), MaxTemplateOutput)
	}
	// Unclosed and stray braces are text.
	if got := string(Render("a {{ b {{request.method", &schema.Request{Method: "GET"}, escaperFor(nil))); got != "a {{ b {{request.method" {
		t.Errorf("unclosed: %q", got)
	}
}

// FuzzRender: hostile templates and request fields never panic, the output
// is bounded, and a JSON template with placeholders inside string literals
// stays valid JSON whatever the values; HTML output carries no raw '<'
// from a value.
func FuzzRender(f *testing.F) {
	f.Add("{{request.id}}", "x", `{"a":"<b>"}`, "q=1")
	f.Add("{{ body.a }}{{header.x}}{{", "\x00\"\\", `{"a":[1,{"b":"\u2028"}]}`, "q=%ff")
	f.Fuzz(func(t *testing.T, tmpl, hv, body, query string) {
		r := &schema.Request{ID: uuid.New(), Headers: []schema.Header{{Name: "X", Value: hv}}, Body: []byte(body), Query: query}
		out := Render(tmpl, r, escaperFor(nil))
		if len(out) > MaxTemplateOutput {
			t.Fatalf("%d bytes", len(out))
		}
		js := Render(`{"h":"{{header.x}}","b":"{{body.a}}","q":"{{query.q}}","id":"{{request.id}}"}`, r,
			escaperFor([]schema.Header{{Name: "Content-Type", Value: "application/json"}}))
		if !json.Valid(js) {
			t.Fatalf("JSON template rendered invalid JSON: %s", js)
		}
		h := Render(`<p>{{header.x}}{{body.a}}{{query.q}}</p>`, r, escaperFor([]schema.Header{{Name: "Content-Type", Value: "text/html"}}))
		if strings.Count(string(h), "<") != 2 {
			t.Fatalf("HTML value not escaped: %s", h)
		}
	})
}
