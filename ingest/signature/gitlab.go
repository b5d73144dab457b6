package signature

import (
	"crypto/subtle"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// verifyGitLab follows docs.gitlab.com "Webhooks" (secret token): GitLab
// sends the configured token verbatim in X-Gitlab-Token; there is no MAC.
func (v *Verifier) verifyGitLab(in Input) Result {
	const name = "X-Gitlab-Token"
	i := nextHeader(in.Headers, name, 0)
	if i < 0 {
		return missing("no X-Gitlab-Token header")
	}
	for ; i >= 0; i = nextHeader(in.Headers, name, i+1) {
		if subtle.ConstantTimeCompare(bs(in.Headers[i].Value), bs(v.secret)) == 1 {
			return valid()
		}
	}
	return invalid("X-Gitlab-Token does not match the secret")
}

func (v *Verifier) signGitLab([]byte, string, time.Time) ([]schema.Header, error) {
	return []schema.Header{header("X-Gitlab-Token", v.secret)}, nil
}
