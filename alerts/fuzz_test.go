package alerts

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/schema"
)

// FuzzCreateRule: any body gives either a valid rule that survives the
// storage round trip, or an ErrInvalid that does not echo a channel URL.
func FuzzCreateRule(f *testing.F) {
	for _, s := range []string{
		`{"name":"bad signatures","bin_id":"b1","kind":"signature_failures","params":{"window":"10s","min_count":5,"threshold":0.5},"channels":[{"type":"slack","url":"https://hooks.slack.com/services/SECRET"}],"cooldown":"10m","enabled":true}`,
		`{"name":"v","bin_id":null,"kind":"volume_anomaly","params":{"sensitivity":"high","season":"0s"}}`,
		`{"name":"s","kind":"suspicious_sender","params":{"allow_cidrs":["10.0.0.0/8","192.0.2.1"]},"channels":[{"type":"webhook","url":"http://x.test/SECRET"}]}`,
		`{"name":"l","kind":"latency_spike","params":{"threshold":250,"percentile":99,"latency":"forward"},"for":"30s","severity":"critical"}`,
		`{"name":"x","kind":"failure_spike","channels":[{"type":"slack","url":"ftp://SECRET"}]}`,
		`{"name":1}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		svc := NewService(newMemStore(), nil, ServiceOptions{})
		r, err := createJSON(t.Context(), svc, body)
		if err != nil {
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			for _, u := range channelURLs(body) {
				if len(u) >= 8 && strings.Contains(err.Error(), u) {
					t.Fatalf("error echoes channel URL %q: %v", u, err)
				}
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("created an invalid rule: %v", err)
		}
		st, err := r.toStored()
		if err != nil {
			t.Fatal(err)
		}
		back, err := fromStored(st)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := back.toStored()
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(st, st2) || back.Params.Threshold != r.Params.Threshold {
			t.Fatalf("round trip changed the rule:\n%s\n%s", st.Doc, st2.Doc)
		}
		if _, err := newDetector(back); err != nil {
			t.Fatalf("valid rule without detector: %v", err)
		}
	})
}

// channelURLs digs the channel URLs out of a body, if it parses that far.
func channelURLs(body []byte) []string {
	var in struct {
		Channels []struct {
			URL        string `json:"url"`
			RoutingKey string `json:"routing_key"`
		} `json:"channels"`
	}
	if json.Unmarshal(body, &in) != nil {
		return nil
	}
	var out []string
	for _, c := range in.Channels {
		out = append(out, c.URL, c.RoutingKey)
	}
	return out
}

// FuzzUpdateRule: any patch body, decoded as web decodes it, gives either a
// valid rule or an ErrInvalid that does not echo a channel secret, and never
// changes the stored rule when it fails.
func FuzzUpdateRule(f *testing.F) {
	for _, s := range []string{
		`{"params":{"min_count":9},"bin_id":null,"enabled":false,"channels":[{"type":"slack"},{"type":"webhook","url":"https://example.test/SECRET"}]}`,
		`{"kind":"volume_anomaly","params":{"sensitivity":"high"}}`,
		`{"channels":[{"type":"pagerduty","routing_key":"SECRETKEY0123456789abcdef"}]}`,
		`{"channels":[{"type":"email","to":["ops@example.test"]}]}`,
		`{"cooldown":null,"for":"30s","severity":null}`,
		`{"params":null}`, `{"bin_id":5}`, `{}}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		st := newMemStore()
		svc := NewService(st, nil, ServiceOptions{})
		r, err := createJSON(t.Context(), svc, []byte(`{"name":"r","bin_id":"b1","kind":"failure_spike","channels":[{"type":"slack","url":"https://hooks.slack.com/services/KEEP"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := st.GetRule(t.Context(), r.ID)
		u, err := updateJSON(t.Context(), svc, r.ID, body)
		if err != nil {
			if !errors.Is(err, schema.ErrInvalid) {
				t.Fatalf("error not ErrInvalid: %v", err)
			}
			for _, u := range append(channelURLs(body), "https://hooks.slack.com/services/KEEP") {
				if len(u) >= 8 && strings.Contains(err.Error(), u) {
					t.Fatalf("error echoes channel secret %q: %v", u, err)
				}
			}
			after, _ := st.GetRule(t.Context(), r.ID)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("a failed patch changed the stored rule")
			}
			return
		}
		if err := u.Validate(); err != nil {
			t.Fatalf("patched into an invalid rule: %v", err)
		}
	})
}
