package bins

import (
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/schema"
)

// Limits of response rule conditions and templates.
const (
	MaxMatchValueBytes = 1024
	MaxQueryNameBytes  = 256
	MaxTemplateFields  = 100
)

// templateRequestFields are the {{request.<field>}} names; ingest.Render
// fills exactly these (TestTemplateFieldsAgree keeps the lists equal).
var templateRequestFields = []string{"id", "method", "path", "query", "remote_ip", "received_at", "content_type"}

// TemplateRequestFields returns the {{request.<field>}} names.
func TemplateRequestFields() []string { return append([]string(nil), templateRequestFields...) }

// validateMatches checks a rule's header, query and body_field conditions.
func validateMatches(where string, r *schema.ResponseRule) error {
	value := func(f string, m *schema.FieldMatch) error {
		if m.Value != nil && (len(*m.Value) > MaxMatchValueBytes || hasControl(*m.Value)) {
			return rinvalid(where+f+".value", "at most %d bytes without control characters", MaxMatchValueBytes)
		}
		return nil
	}
	if m := r.Header; m != nil {
		if m.Path != "" || !ValidHeaderName(m.Name) {
			return rinvalid(where+"header", `needs "name": a header name (and optionally "value")`)
		}
		if err := value("header", m); err != nil {
			return err
		}
	}
	if m := r.Query; m != nil {
		if m.Path != "" || m.Name == "" || len(m.Name) > MaxQueryNameBytes || hasControl(m.Name) {
			return rinvalid(where+"query", `needs "name": a query parameter of at most %d bytes (and optionally "value")`, MaxQueryNameBytes)
		}
		if err := value("query", m); err != nil {
			return err
		}
	}
	if m := r.BodyField; m != nil {
		if m.Name != "" {
			return rinvalid(where+"body_field", `needs "path" (a JSON dot path), not "name"`)
		}
		if err := validBodyPath(m.Path); err != nil {
			return rinvalid(where+"body_field.path", "%s", err)
		}
		if err := value("body_field", m); err != nil {
			return err
		}
	}
	return nil
}

// ValidateTemplate checks the placeholders of a response body: every
// {{request.<field>}}, {{body.<path>}}, {{header.<name>}} and
// {{query.<name>}} must name something, and there are at most
// MaxTemplateFields of them. Other "{{" text is the user's own and is
// served as written.
func ValidateTemplate(body string) error {
	n := 0
	for rest := body; ; {
		i := strings.Index(rest, "{{")
		if i < 0 {
			return nil
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil
		}
		key := strings.TrimSpace(rest[i+2 : i+2+j])
		rest = rest[i+2:]
		kind, arg, ok := strings.Cut(key, ".")
		if !ok {
			continue
		}
		switch kind {
		case "request":
			found := false
			for _, f := range templateRequestFields {
				found = found || f == arg
			}
			if !found {
				return fmt.Errorf("{{%s}}: request fields are %s", key, strings.Join(templateRequestFields, ", "))
			}
		case "body":
			if err := validBodyPath(arg); err != nil {
				return fmt.Errorf("{{%s}}: %s", key, err)
			}
		case "header":
			if !ValidHeaderName(arg) {
				return fmt.Errorf("{{%s}}: not a header name", key)
			}
		case "query":
			if arg == "" || len(arg) > MaxQueryNameBytes {
				return fmt.Errorf("{{%s}}: not a query parameter name", key)
			}
		default:
			continue
		}
		if n++; n > MaxTemplateFields {
			return fmt.Errorf("at most %d placeholders", MaxTemplateFields)
		}
	}
}
