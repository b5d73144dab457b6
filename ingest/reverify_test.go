package ingest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// TestReverify: the verdict with the bin's current settings, computed as at
// capture time (a Stripe delivery from 2024 is still within its tolerance
// today), and the cases with nothing to check.
func TestReverify(t *testing.T) {
	const secret = "whsec_reverify"
	at := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	body := []byte(`{"type":"invoice.paid"}`)
	signed, err := signature.Sign(&schema.SignatureConfig{Scheme: "stripe", Secret: secret}, body, "", at.Add(-2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rec := func(truncated bool) *schema.Request {
		return &schema.Request{ID: uuid.Must(uuid.NewV7()), ReceivedAt: at, Headers: signed, Body: body, BodyTruncated: truncated,
			Signature: schema.Signature{Status: schema.SigUnchecked}}
	}
	bin := func(sc *schema.SignatureConfig) *schema.Bin {
		return &schema.Bin{ID: "b", Settings: schema.BinSettings{Signature: sc}}
	}
	stripe := &schema.SignatureConfig{Scheme: "stripe", Secret: secret}
	for _, tc := range []struct {
		name    string
		bin     *schema.Bin
		r       *schema.Request
		status  schema.SignatureStatus
		lagMS   int64
		refused bool
	}{
		{"the current secret", bin(stripe), rec(false), schema.SigValid, 2000, false},
		{"another secret", bin(&schema.SignatureConfig{Scheme: "stripe", Secret: "whsec_other"}), rec(false), schema.SigInvalid, 2000, false},
		{"no scheme", bin(nil), rec(false), "", 0, true},
		{"truncated body", bin(stripe), rec(true), "", 0, true},
		{"settings that do not apply", bin(&schema.SignatureConfig{Scheme: "stripe", Secret: secret, Tolerance: "soon"}), rec(false), "", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, lag, err := Reverify(tc.bin, tc.r, "")
			var nv *NotVerifiableError
			if tc.refused {
				if !errors.As(err, &nv) || nv.Reason == "" {
					t.Fatalf("err = %v, want a NotVerifiableError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sig.Status != tc.status || sig.Scheme != "stripe" {
				t.Errorf("verdict %+v, want %s", sig, tc.status)
			}
			if lag == nil || *lag != tc.lagMS {
				t.Errorf("lag %v, want %d ms", lag, tc.lagMS)
			}
			if tc.r.Signature.Status != schema.SigUnchecked {
				t.Errorf("the record changed: %+v", tc.r.Signature)
			}
		})
	}
}
