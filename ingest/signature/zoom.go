package signature

import (
	"time"

	"github.com/hookscope/hookscope/schema"
)

// zoom follows Zoom's "Verify webhook events" and @zoom/rivet: x-zm-signature
// = "v0=" + hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{body}" with the
// app's secret token (the Slack construction, slack.go).
var zoom = v0Format{"x-zm-signature", "x-zm-request-timestamp"}

func (v *Verifier) verifyZoom(in Input) Result { return zoom.verify(v, in) }

func (v *Verifier) signZoom(body []byte, _ string, now time.Time) ([]schema.Header, error) {
	return zoom.sign(v, body, now), nil
}
