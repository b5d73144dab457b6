package bins

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// FuzzControlSettings: allow_cidrs, redact, retention and response rules
// decoded from hostile JSON never panic; what is accepted is canonical and
// bounded (CIDRs re-parse to themselves, at most the limits, templates
// within their placeholder count).
func FuzzControlSettings(f *testing.F) {
	for _, s := range []string{
		`{"allow_cidrs":["10.1.2.3/8","::ffff:1.2.3.4/120","2001:db8::1"]}`,
		`{"redact":{"headers":["X-A"],"body_paths":["a.b","x\\.y.0"],"store_body":false}}`,
		`{"retention":{"max_age":"7d","max_requests":5}}`,
		`{"response":{"body":"{{request.id}} {{body.a.b}} {{header.X}} {{query.q}}","rules":[{"header":{"name":"X","value":"1"},"query":{"name":"q"},"body_field":{"path":"a"}}]}}`,
		`{"allow_cidrs":["::ffff:0.0.0.0/0"]}`, `{"redact":{"body_paths":["a..b"]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var in Input
		dec := json.NewDecoder(bytes.NewReader(raw))
		if dec.Decode(&in) != nil {
			return
		}
		s := New(nil, nil, Options{})
		b := &schema.Bin{ID: "x", CreatedAt: time.Now()}
		if err := s.apply(b, &in, time.Now(), false); err != nil {
			return
		}
		if len(b.Settings.AllowCIDRs) > MaxAllowCIDRs {
			t.Fatalf("%d CIDRs", len(b.Settings.AllowCIDRs))
		}
		for _, c := range b.Settings.AllowCIDRs {
			p, err := netip.ParsePrefix(c)
			if err != nil || p.String() != c || p.Masked() != p || p.Addr().Is4In6() {
				t.Fatalf("stored CIDR %q is not canonical (%v)", c, err)
			}
		}
		if rc := b.Settings.Redact; rc != nil {
			for _, p := range rc.BodyPaths {
				if p == "" || strings.ContainsAny(p, "*?#|@") {
					t.Fatalf("body path %q accepted", p)
				}
			}
		}
		if rc := b.Settings.Retention; rc != nil {
			if d, err := rc.Age(); err != nil || d < 0 || rc.MaxRequests < 0 || rc.MaxRequests > MaxRetainRequests {
				t.Fatalf("retention %+v accepted (%v)", rc, err)
			}
		}
		if rc := b.Settings.Response; rc != nil {
			if ValidateTemplate(rc.Body) != nil {
				t.Fatalf("template %q accepted then refused", rc.Body)
			}
		}
	})
}
