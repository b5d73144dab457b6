package main

import (
	"time"

	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// verifySignature adapts the signature package to ingest.VerifyFunc.
func verifySignature(cfg *schema.SignatureConfig, headers []schema.Header, body []byte, url string, now time.Time) (schema.Signature, time.Time) {
	res := signature.Verify(cfg, signature.Input{Headers: headers, Body: body, URL: url, Now: now})
	return res.Signature, res.SignedAt
}

func validateSignature(cfg *schema.SignatureConfig) error { return signature.ValidateConfig(cfg) }

func secretHint(secret string) string { return signature.SecretHint(secret) }
