package wire

import "github.com/hookscope/hookscope/schema"

// Attempts is a retry chain: every request of a bin with the same
// delivery id, oldest first (GET .../requests/{id}/attempts).
type Attempts struct {
	DeliveryID string    `json:"delivery_id"`
	Attempts   []Attempt `json:"attempts"`
	// Truncated: the chain has more requests than the view holds.
	Truncated bool `json:"truncated"`
}

// Attempt is one request of a chain with the time since the one before.
type Attempt struct {
	Request
	// IntervalMS is the time since the previous attempt, nil for the first.
	IntervalMS *int64 `json:"interval_ms"`
}

// Chain builds the view of reqs, given oldest first.
func Chain(deliveryID string, reqs []*schema.Request, truncated bool) Attempts {
	out := Attempts{DeliveryID: deliveryID, Attempts: make([]Attempt, 0, len(reqs)), Truncated: truncated}
	for i, r := range reqs {
		a := Attempt{Request: Summary(r)}
		if i > 0 {
			ms := r.ReceivedAt.Sub(reqs[i-1].ReceivedAt).Milliseconds()
			a.IntervalMS = &ms
		}
		out.Attempts = append(out.Attempts, a)
	}
	return out
}

// Deleted answers a delete by filter.
type Deleted struct {
	Deleted int64 `json:"deleted"`
}
