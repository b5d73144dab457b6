package signature

import (
	"crypto/hmac"
	"encoding/base64"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// verifyShopify follows shopify.dev "Verify webhooks": X-Shopify-Hmac-Sha256
// is the base64 HMAC-SHA256 of the raw body with the app's client secret.
func (v *Verifier) verifyShopify(in Input) Result {
	const name = "X-Shopify-Hmac-Sha256"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Shopify-Hmac-Sha256 header")
	}
	var buf [32]byte
	mac := v.sum(buf[:], in.Body)
	var got [48]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		val := trimSpace(in.Headers[i].Value)
		if len(val) != 44 {
			continue
		}
		n, err := base64.StdEncoding.Decode(got[:], bs(val))
		if err != nil || n != 32 {
			continue
		}
		wellFormed = true
		if hmac.Equal(got[:32], mac) {
			return valid()
		}
	}
	if !wellFormed {
		return malformed("X-Shopify-Hmac-Sha256 is not a base64 SHA-256 HMAC")
	}
	return invalid("signature does not match")
}

func (v *Verifier) signShopify(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [32]byte
	return []schema.Header{header("X-Shopify-Hmac-Sha256", base64.StdEncoding.EncodeToString(v.sum(buf[:], body)))}, nil
}
