package main

import (
	"github.com/hookscope/hookscope/ingest/signature"
	"github.com/hookscope/hookscope/schema"
)

// Thin adapters so that web does not import ingest/signature directly.
func validateSignature(cfg *schema.SignatureConfig) error { return signature.ValidateConfig(cfg) }

func secretHint(secret string) string { return signature.SecretHint(secret) }
