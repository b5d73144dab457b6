package forward

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hookscope/hookscope/schema"
)

// Bounds of a retry policy (schema.RetryConfig).
const (
	MaxRetryAttempts = 20
	MinRetryDelay    = 10 * time.Millisecond
	MaxRetryInitial  = time.Hour
	MaxRetryDelay    = 24 * time.Hour
)

// Defaults of the fields a retry setting leaves out.
const (
	DefaultRetryAttempts = 5
	DefaultRetryInitial  = 10 * time.Second
	DefaultRetryMax      = time.Hour
)

// Policy is a parsed retry setting.
type Policy struct {
	MaxAttempts  int // attempts in all, the first included; 1: no retry
	Initial, Max time.Duration
}

// NoRetry is the policy of a forward without a retry setting.
var NoRetry = Policy{MaxAttempts: 1}

// ParsePolicy checks and parses a retry setting (nil: NoRetry). Errors name
// the field.
func ParsePolicy(rc *schema.RetryConfig) (Policy, error) {
	if rc == nil {
		return NoRetry, nil
	}
	p := Policy{MaxAttempts: rc.MaxAttempts, Initial: DefaultRetryInitial, Max: DefaultRetryMax}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultRetryAttempts
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > MaxRetryAttempts {
		return p, fmt.Errorf("max_attempts: must be from 1 to %d", MaxRetryAttempts)
	}
	var err error
	if rc.Initial != "" {
		if p.Initial, err = time.ParseDuration(rc.Initial); err != nil || p.Initial < MinRetryDelay || p.Initial > MaxRetryInitial {
			return p, fmt.Errorf("initial: must be a duration from %v to %v", MinRetryDelay, MaxRetryInitial)
		}
	}
	if rc.Max != "" {
		if p.Max, err = time.ParseDuration(rc.Max); err != nil || p.Max < MinRetryDelay || p.Max > MaxRetryDelay {
			return p, fmt.Errorf("max: must be a duration from %v to %v", MinRetryDelay, MaxRetryDelay)
		}
	} else if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.Max < p.Initial {
		return p, fmt.Errorf("max: must not be less than initial")
	}
	return p, nil
}

// Delay is the pause after the n-th failed attempt (n >= 1): Initial*2^(n-1)
// capped at Max, then jittered to between 80% and 120% of that (never past
// Max), so that the retries of a burst that failed together spread out.
func (p Policy) Delay(n int) time.Duration {
	d := p.Initial
	for i := 1; i < n && d < p.Max; i++ {
		d *= 2
	}
	d = min(d, p.Max)
	j := time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	return max(min(j, p.Max), MinRetryDelay)
}
