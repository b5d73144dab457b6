package forward

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
)

// Filter selects the captures a bin forwards (schema.ForwardConfig.Filter).
// It is written as a query string of the requests list's filter parameters,
// with the list's semantics (query.Match), so that what a user filters the
// list with is what they can forward: method, ip, q, signature, event_type,
// delivery_id, since, until. Two more apply only here: path_prefix (the
// captured path starts with it) and header ("Name" present, or "Name:value"
// exactly, name case-insensitive). status is not accepted: a proxy forward
// is decided before the bin answers.
type Filter struct {
	f          schema.Filter
	pathPrefix string
	header     string
	value      *string
}

// FilterParams are the parameters a forward filter accepts.
var FilterParams = []string{"method", "ip", "q", "since", "until", "signature", "event_type", "delivery_id", "path_prefix", "header"}

// MaxFilterBytes bounds a forward filter.
const MaxFilterBytes = 2048

// ParseFilter parses a forward filter; "" is nil (forward everything).
// Errors name the parameter.
func ParseFilter(s string) (*Filter, error) {
	if s == "" {
		return nil, nil
	}
	if len(s) > MaxFilterBytes {
		return nil, fmt.Errorf("at most %d bytes", MaxFilterBytes)
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Errorf("must be a query string like method=POST&event_type=push: %w", err)
	}
	for k, vs := range v {
		if !slices.Contains(FilterParams, k) {
			return nil, fmt.Errorf("unknown parameter %q (accepted: %s)", k, strings.Join(FilterParams, ", "))
		}
		if len(vs) > 1 {
			return nil, fmt.Errorf("parameter %q given twice", k)
		}
	}
	f := &Filter{}
	if f.f, err = query.ParseLiveFilter("", v.Get); err != nil {
		return nil, err
	}
	f.pathPrefix = v.Get("path_prefix")
	if h := v.Get("header"); h != "" {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf(`parameter "header": must be "Name" or "Name:value"`)
		}
		f.header = name
		if ok {
			value = strings.TrimSpace(value)
			f.value = &value
		}
	}
	return f, nil
}

// Match reports whether r is to be forwarded; when not, reason says which
// condition failed.
func (f *Filter) Match(r *schema.Request) (ok bool, reason string) {
	if f == nil {
		return true, ""
	}
	if f.pathPrefix != "" && !strings.HasPrefix(r.Path, f.pathPrefix) {
		return false, "path does not start with " + f.pathPrefix
	}
	if f.header != "" {
		found := false
		for _, h := range r.Headers {
			if strings.EqualFold(h.Name, f.header) && (f.value == nil || h.Value == *f.value) {
				found = true
				break
			}
		}
		if !found {
			return false, "no header " + f.header + matchValue(f.value)
		}
	}
	if !query.Match(&f.f, r) {
		return false, "the request does not match the filter"
	}
	return true, ""
}

func matchValue(v *string) string {
	if v == nil {
		return ""
	}
	return ": " + *v
}

// SkipReason is the recorded reason of a capture the filter left out.
func SkipReason(reason string) string { return "forward filter: " + reason + "; not forwarded" }
