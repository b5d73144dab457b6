package signature

import (
	"crypto/hmac"
	"encoding/base64"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Shopify signs every HTTPS delivery with the base64 HMAC-SHA256 of the raw
// body, keyed by the app's client secret (shopify.dev "Verify webhooks" and
// "Verify Events deliveries"). Webhooks carry it in X-Shopify-Hmac-Sha256;
// Events deliveries use the shopify-* header names, Shopify-Hmac-Sha256.
// @shopify/shopify-api (lib/webhooks/validate.ts detectWebhookType) checks
// the Events header first and, when it is present, only that one; it
// compares the base64 strings and rejects an empty body.
const (
	shopifyEventsHeader   = "Shopify-Hmac-Sha256"
	shopifyWebhooksHeader = "X-Shopify-Hmac-Sha256"
)

func (v *Verifier) verifyShopify(in Input) Result {
	name := shopifyEventsHeader
	i := nonEmptyHeader(in.Headers, name)
	if i < 0 {
		name = shopifyWebhooksHeader
		if i = nextHeader(in.Headers, name, 0); i < 0 {
			return missing("no Shopify-Hmac-Sha256 or X-Shopify-Hmac-Sha256 header")
		}
	}
	if len(in.Body) == 0 {
		return invalid("empty body: Shopify signs the delivery's body and its library rejects an empty one")
	}
	var buf [32]byte
	var want [44]byte
	base64.StdEncoding.Encode(want[:], v.sum(buf[:], in.Body))
	var got [48]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) != 44 {
			continue
		}
		if n, err := base64.StdEncoding.Decode(got[:], bs(val)); err != nil || n != 32 {
			continue
		}
		wellFormed = true
		if hmac.Equal(bs(val), want[:]) {
			return valid()
		}
	}
	if !wellFormed {
		return malformed("%s is not a base64 SHA-256 HMAC", name)
	}
	return invalid("signature does not match")
}

// nonEmptyHeader returns the index of the first header named name, or -1
// when it is absent or its first value is empty (the SDK then falls back).
func nonEmptyHeader(hs []schema.Header, name string) int {
	i := nextHeader(hs, name, 0)
	if i >= 0 && trimSpace(hs[i].Value) == "" {
		return -1
	}
	return i
}

// signShopify signs as Shopify's webhooks do (X-Shopify-Hmac-Sha256).
func (v *Verifier) signShopify(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [32]byte
	return []schema.Header{header(shopifyWebhooksHeader, base64.StdEncoding.EncodeToString(v.sum(buf[:], body)))}, nil
}
