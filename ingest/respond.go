package ingest

import (
	"bytes"
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/hookscope/hookscope/schema"
)

// MaxTemplateOutput bounds a rendered response body: request fields can
// make a template grow (a 10 MiB body echoed twice); past this the output
// is cut.
const MaxTemplateOutput = 1 << 20

// respond picks the bin's configured answer for r (the request as it
// arrived, before redaction): the first rule whose conditions all hold, or
// the top-level response; its body rendered with r's fields.
func respond(bin *schema.Bin, r *schema.Request) Response {
	cfg := bin.Settings.Response
	if cfg == nil {
		return defaultResponse(r.ID)
	}
	status, headers, body, delay := cfg.Status, cfg.Headers, cfg.Body, cfg.DelayMS
	for i := range cfg.Rules {
		rule := &cfg.Rules[i]
		if ruleMatches(rule, r) {
			status, headers, body, delay = rule.Status, rule.Headers, rule.Body, rule.DelayMS
			break
		}
	}
	if status == 0 {
		status = 200
	}
	if body == "" && len(headers) == 0 && status == 200 && delay == 0 {
		return defaultResponse(r.ID)
	}
	out := []byte(body)
	if strings.Contains(body, "{{") {
		out = Render(body, r, escaperFor(headers))
	}
	return Response{Status: status, Headers: headers, Body: out, Delay: time.Duration(delay) * time.Millisecond}
}

func ruleMatches(rule *schema.ResponseRule, r *schema.Request) bool {
	if rule.Method != "" && rule.Method != r.Method {
		return false
	}
	if rule.PathPrefix != "" && !hasPathPrefix(r.Path, rule.PathPrefix) {
		return false
	}
	if m := rule.Header; m != nil && !headerMatches(m, r.Headers) {
		return false
	}
	if m := rule.Query; m != nil && !queryMatches(m, r.Query) {
		return false
	}
	if m := rule.BodyField; m != nil && !bodyMatches(m, r.Body) {
		return false
	}
	return true
}

func hasPathPrefix(path, prefix string) bool {
	return len(path) >= len(prefix) && path[:len(prefix)] == prefix
}

func headerMatches(m *schema.FieldMatch, hs []schema.Header) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, m.Name) && (m.Value == nil || h.Value == *m.Value) {
			return true
		}
	}
	return false
}

func queryMatches(m *schema.FieldMatch, raw string) bool {
	vals, ok := queryValues(raw)[m.Name]
	if !ok {
		return false
	}
	if m.Value == nil {
		return true
	}
	for _, v := range vals {
		if v == *m.Value {
			return true
		}
	}
	return false
}

// queryValues parses the raw query leniently: a malformed pair is skipped,
// not a reason to ignore the rest (url.ParseQuery keeps what it could parse).
func queryValues(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	return v
}

func bodyMatches(m *schema.FieldMatch, body []byte) bool {
	res := bodyField(body, m.Path)
	if !res.Exists() {
		return false
	}
	return m.Value == nil || res.String() == *m.Value
}

// bodyField reads a JSON body path; nothing for a body that is not JSON.
func bodyField(body []byte, path string) gjson.Result {
	if len(body) == 0 || !gjson.ValidBytes(body) {
		return gjson.Result{}
	}
	return gjson.GetBytes(body, path)
}

// escaper makes a request value safe to splice into a response body.
type escaper func(dst []byte, v string) []byte

// escaperFor picks the escaping of a response by its Content-Type: JSON
// string escaping for JSON (the placeholder sits inside a string literal),
// HTML escaping for HTML and XML, none for text/plain and anything else.
func escaperFor(headers []schema.Header) escaper {
	ct := ""
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Content-Type") {
			ct = strings.ToLower(h.Value)
		}
	}
	switch {
	case strings.Contains(ct, "json"):
		return jsonEscape
	case strings.Contains(ct, "html"), strings.Contains(ct, "xml"):
		return func(dst []byte, v string) []byte { return append(dst, html.EscapeString(v)...) }
	}
	return func(dst []byte, v string) []byte { return append(dst, v...) }
}

// jsonEscape appends v as the inside of a JSON string (json.Marshal's
// escaping, <, > and & included, without the quotes).
func jsonEscape(dst []byte, v string) []byte {
	b, _ := json.Marshal(v) // a string always marshals
	return append(dst, b[1:len(b)-1]...)
}

// Placeholders a response body may use. ValidTemplate (bins) accepts
// exactly these.
const (
	phRequest = "request."
	phBody    = "body."
	phHeader  = "header."
	phQuery   = "query."
)

// RequestFields are the {{request.<field>}} names.
var RequestFields = []string{"id", "method", "path", "query", "remote_ip", "received_at", "content_type"}

// Render expands the placeholders of tmpl with r's fields, each escaped by
// esc; text that is not a known placeholder (a "{{" of the user's own) is
// kept as written. The output is at most MaxTemplateOutput bytes.
func Render(tmpl string, r *schema.Request, esc escaper) []byte {
	out := make([]byte, 0, len(tmpl)+64)
	var q url.Values // parsed on first use
	for len(tmpl) > 0 && len(out) < MaxTemplateOutput {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			out = append(out, tmpl...)
			break
		}
		j := strings.Index(tmpl[i+2:], "}}")
		if j < 0 {
			out = append(out, tmpl...)
			break
		}
		key := strings.TrimSpace(tmpl[i+2 : i+2+j])
		v, ok := "", true
		switch {
		case strings.HasPrefix(key, phRequest):
			v, ok = requestField(r, key[len(phRequest):])
		case strings.HasPrefix(key, phBody) && len(key) > len(phBody):
			v = bodyField(r.Body, key[len(phBody):]).String()
		case strings.HasPrefix(key, phHeader) && len(key) > len(phHeader):
			for _, h := range r.Headers {
				if strings.EqualFold(h.Name, key[len(phHeader):]) {
					v = h.Value
					break
				}
			}
		case strings.HasPrefix(key, phQuery) && len(key) > len(phQuery):
			if q == nil {
				q = queryValues(r.Query)
			}
			v = q.Get(key[len(phQuery):])
		default:
			ok = false
		}
		if !ok { // not ours: keep "{{" and go on after it
			out = append(out, tmpl[:i+2]...)
			tmpl = tmpl[i+2:]
			continue
		}
		out = append(out, tmpl[:i]...)
		out = esc(out, v)
		tmpl = tmpl[i+2+j+2:]
	}
	if len(out) > MaxTemplateOutput {
		out = out[:MaxTemplateOutput]
	}
	return bytes.Clone(out)
}

func requestField(r *schema.Request, f string) (string, bool) {
	switch f {
	case "id":
		return r.ID.String(), true
	case "method":
		return r.Method, true
	case "path":
		return r.Path, true
	case "query":
		return r.Query, true
	case "remote_ip":
		return r.RemoteIP, true
	case "received_at":
		return r.ReceivedAt.Format(time.RFC3339Nano), true
	case "content_type":
		return r.ContentType, true
	}
	return "", false
}

// CORS headers: a bin with response.cors answers browsers. No credentials
// are involved (capture sets no cookies), so the origin is "*".
var (
	corsHeaders = []schema.Header{
		{Name: "Access-Control-Allow-Origin", Value: "*"},
		{Name: "Access-Control-Expose-Headers", Value: "X-Hookscope-Request-Id"},
	}
	maxCORSAllowHeaders = 4096
)

// isPreflight: a CORS preflight (OPTIONS with Access-Control-Request-Method).
func isPreflight(r *schema.Request) bool {
	if r.Method != "OPTIONS" {
		return false
	}
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "Access-Control-Request-Method") {
			return true
		}
	}
	return false
}

// preflight answers a CORS preflight: 204, every method, the headers the
// browser asked for (bounded), cached for 10 minutes.
func preflight(r *schema.Request) Response {
	hs := append([]schema.Header(nil), corsHeaders...)
	hs = append(hs, schema.Header{Name: "Access-Control-Allow-Methods", Value: "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"},
		schema.Header{Name: "Access-Control-Max-Age", Value: "600"})
	for _, h := range r.Headers {
		if strings.EqualFold(h.Name, "Access-Control-Request-Headers") && len(h.Value) <= maxCORSAllowHeaders && validHeaderList(h.Value) {
			hs = append(hs, schema.Header{Name: "Access-Control-Allow-Headers", Value: h.Value})
			break
		}
	}
	return Response{Status: 204, Headers: hs}
}

// validHeaderList: a comma-separated list of header names (tokens), so
// what is echoed is nothing but names.
func validHeaderList(v string) bool {
	for _, n := range strings.Split(v, ",") {
		if !schema.IsHeaderToken(strings.TrimSpace(n)) {
			return false
		}
	}
	return true
}

// withCORS adds the CORS headers to an answer (a new slice: the answer's
// headers may be the bin's configuration).
func withCORS(resp Response) Response {
	hs := make([]schema.Header, 0, len(resp.Headers)+len(corsHeaders))
	hs = append(hs, resp.Headers...)
	resp.Headers = append(hs, corsHeaders...)
	return resp
}
