package main

import "testing"

func TestEmbeddedSyncFollowsAck(t *testing.T) {
	for _, tc := range []struct{ ack, want string }{
		{"", "FULL"}, // the default is durable
		{ackDurable, "FULL"},
		{ackFast, "NORMAL"},
	} {
		if got := embeddedSync(tc.ack); got != tc.want {
			t.Errorf("embeddedSync(%q) = %q, want %q", tc.ack, got, tc.want)
		}
	}
}
