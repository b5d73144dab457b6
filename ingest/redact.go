package ingest

import (
	"net/netip"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/hookscope/hookscope/schema"
)

// DefaultRedactHeaders are the headers replaced in every record unless the
// server is configured otherwise (HOOKSCOPE_REDACT_HEADERS).
var DefaultRedactHeaders = []string{"Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key"}

// redactor replaces what a bin (and the server) says must not be stored:
// header values, JSON body values at given paths, or the whole body. It is
// built once per cached bin (newTarget), so the capture path only compares
// header names when nothing else is configured.
type redactor struct {
	headers  []string // names, compared case-insensitively
	paths    []string // gjson/sjson dot paths
	dropBody bool
}

// newRedactor merges the server-wide header list with the bin's settings;
// nil when there is nothing to redact.
func newRedactor(global []string, cfg *schema.RedactConfig) *redactor {
	rd := &redactor{headers: global}
	if cfg != nil {
		if len(cfg.Headers) > 0 {
			rd.headers = append(append([]string(nil), global...), cfg.Headers...)
		}
		rd.paths = cfg.BodyPaths
		rd.dropBody = !cfg.KeepsBody()
	}
	if len(rd.headers) == 0 && len(rd.paths) == 0 && !rd.dropBody {
		return nil
	}
	return rd
}

// apply redacts r in place and returns the request as it was sent (what
// forwarding relays and response rules read) when something changed, else
// r itself. Signatures are verified before this (on Incoming), so verdicts
// are about the raw request. It never writes into r's header slice or body:
// they are shared with the copy it returns.
func (rd *redactor) apply(r *schema.Request) *schema.Request {
	if rd == nil {
		return r
	}
	var red schema.Redaction
	headers, body := r.Headers, r.Body
	for i, h := range r.Headers {
		if !rd.matchHeader(h.Name) {
			continue
		}
		if red.Headers == nil {
			// Copy on first match: the common request (no secret header)
			// costs no allocation.
			r.Headers = append([]schema.Header(nil), r.Headers...)
		}
		r.Headers[i].Value = schema.RedactedValue
		red.Headers = append(red.Headers, h.Name)
	}
	switch {
	case rd.dropBody, len(rd.paths) > 0 && r.BodyTruncated && len(r.Body) > 0:
		// A truncated (or aborted) body cannot be parsed to find the
		// paths: rather than store a secret it may hold, it is dropped.
		r.Body = nil
		red.BodyDropped = true
	case len(rd.paths) > 0 && len(r.Body) > 0 && gjson.ValidBytes(r.Body):
		nb := r.Body
		for _, p := range rd.paths {
			if !gjson.GetBytes(nb, p).Exists() {
				continue // sjson would create it
			}
			// SetBytes may write in place: give it a copy of the body as
			// sent, which the signature and the forward still need.
			out, err := sjson.SetBytes(append([]byte(nil), nb...), p, schema.RedactedValue)
			if err != nil {
				continue
			}
			nb = out
			red.BodyPaths = append(red.BodyPaths, p)
		}
		if len(red.BodyPaths) > 0 {
			r.Body = nb
		}
	}
	if red.Headers == nil && red.BodyPaths == nil && !red.BodyDropped {
		return r
	}
	done := red // allocated only here: the common request pays nothing
	r.Redacted = &done
	sent := *r // only now: the common request allocates nothing here
	sent.Headers, sent.Body, sent.Redacted = headers, body, nil
	return &sent
}

func (rd *redactor) matchHeader(name string) bool {
	for _, h := range rd.headers {
		if len(h) == len(name) && strings.EqualFold(h, name) {
			return true
		}
	}
	return false
}

// enforcement is a bin's refusal rules, parsed once per cached bin.
type enforcement struct {
	allow     []netip.Prefix // nil: every sender
	signature bool           // signature.enforce
}

func newEnforcement(b *schema.Bin) *enforcement {
	e := &enforcement{}
	for _, s := range b.Settings.AllowCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			e.allow = append(e.allow, p)
		}
	}
	if len(b.Settings.AllowCIDRs) > 0 && len(e.allow) == 0 {
		// Stored settings are validated; should one not parse, refuse
		// everyone rather than accept everyone.
		e.allow = []netip.Prefix{}
	}
	e.signature = b.Settings.Signature != nil && b.Settings.Signature.Enforce
	if e.allow == nil && !e.signature {
		return nil
	}
	return e
}

// refuse decides whether r is refused: the sender outside allow_cidrs
// (403), then an invalid or missing signature when enforced (401; a
// verifier that could not be built counts as invalid, so a broken
// configuration fails closed). It sets r.RefusedReason and returns the
// answer.
//
// A CORS preflight (preflight true) cannot carry a signature: only
// allow_cidrs applies to it.
func (e *enforcement) refuse(r *schema.Request, preflight bool) (Response, bool) {
	if e == nil {
		return Response{}, false
	}
	if e.allow != nil {
		ip, err := netip.ParseAddr(r.RemoteIP)
		ok := false
		if err == nil {
			ip = ip.Unmap()
			for _, p := range e.allow {
				if p.Contains(ip) {
					ok = true
					break
				}
			}
		}
		if !ok {
			r.RefusedReason = "sender " + r.RemoteIP + " is not in allow_cidrs"
			return jsonError(403, "sender not allowed", r.ID), true
		}
	}
	if e.signature && !preflight && r.Signature.Status != schema.SigValid {
		reason := r.Signature.Reason
		if reason == "" {
			reason = string(r.Signature.Status)
		}
		r.RefusedReason = "signature " + string(r.Signature.Status) + ": " + reason
		if r.Signature.Status == schema.SigUnchecked {
			r.RefusedReason = "signature not verified: " + reason
		}
		return jsonError(401, "signature missing or invalid", r.ID), true
	}
	return Response{}, false
}
