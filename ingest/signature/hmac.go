package signature

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// genericHMAC is a user-described scheme: cfg.Header carries
// [prefix]<hex|base64 HMAC of the raw body>.
type genericHMAC struct {
	header string
	algo   string
	b64    bool
	prefix string
}

func setupHMAC(v *Verifier, cfg *schema.SignatureConfig) error {
	if cfg.Header == "" {
		return errors.New("signature: scheme hmac needs header (the request header that carries the signature)")
	}
	for i := 0; i < len(cfg.Header); i++ {
		if !isTokenChar(cfg.Header[i]) {
			return fmt.Errorf("signature: hmac header %s is not a valid HTTP header name", clip(cfg.Header))
		}
	}
	g := genericHMAC{header: cfg.Header}
	var newHash func() hash.Hash
	switch cfg.Algorithm {
	case "sha256", "":
		g.algo, newHash = "sha256", sha256.New
	case "sha1":
		g.algo, newHash = "sha1", sha1.New
	case "sha512":
		g.algo, newHash = "sha512", sha512.New
	default:
		return fmt.Errorf("signature: hmac algorithm %s is not one of sha1, sha256, sha512", clip(cfg.Algorithm))
	}
	switch cfg.Encoding {
	case "hex", "":
	case "base64":
		g.b64 = true
	default:
		return fmt.Errorf("signature: hmac encoding %s is not one of hex, base64", clip(cfg.Encoding))
	}
	if strings.ContainsAny(cfg.Prefix, " ,\r\n") {
		return fmt.Errorf("signature: hmac prefix %s must not contain spaces or commas", clip(cfg.Prefix))
	}
	g.prefix = cfg.Prefix
	v.hmac = g
	v.mac = newMAC(newHash, []byte(cfg.Secret))
	return nil
}

// verifyHMAC accepts several comma- or space-separated values (or several
// headers) for rotation.
func (v *Verifier) verifyHMAC(in Input) Result {
	g := &v.hmac
	i := nextHeader(in.Headers, g.header, 0)
	if i < 0 {
		return missing("no " + g.header + " header")
	}
	var buf [64]byte
	mac := v.sum(buf[:], in.Body)
	var got [96]byte
	wellFormed := false
	for ; i >= 0; i = nextHeader(in.Headers, g.header, i+1) {
		s := in.Headers[i].Value
		for s != "" {
			var tok string
			cut := strings.IndexAny(s, ", ")
			if cut < 0 {
				tok, s = s, ""
			} else {
				tok, s = s[:cut], s[cut+1:]
			}
			if tok == "" {
				continue
			}
			if g.prefix != "" {
				if len(tok) < len(g.prefix) || !strings.EqualFold(tok[:len(g.prefix)], g.prefix) {
					continue
				}
				tok = tok[len(g.prefix):]
			}
			if !g.decode(got[:], tok, len(mac)) {
				continue
			}
			wellFormed = true
			if hmac.Equal(got[:len(mac)], mac) {
				return valid()
			}
		}
	}
	if !wellFormed {
		enc := "hex"
		if g.b64 {
			enc = "base64"
		}
		return malformed("%s is not %s%s %s", g.header, g.prefix, enc, g.algo)
	}
	return invalid("signature does not match")
}

func (g *genericHMAC) decode(dst []byte, tok string, n int) bool {
	if !g.b64 {
		return decodeHex(dst, tok, n)
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if enc.DecodedLen(len(tok)) > len(dst) {
			return false
		}
		if m, err := enc.Decode(dst, bs(tok)); err == nil {
			return m == n
		}
	}
	return false
}

func (v *Verifier) signHMAC(body []byte, _ string, _ time.Time) ([]schema.Header, error) {
	var buf [64]byte
	mac := v.sum(buf[:], body)
	enc := hex.EncodeToString(mac)
	if v.hmac.b64 {
		enc = base64.StdEncoding.EncodeToString(mac)
	}
	return []schema.Header{header(v.hmac.header, v.hmac.prefix+enc)}, nil
}
