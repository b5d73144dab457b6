package main

import (
	"io"
	"testing"
	"time"
)

// TestFlushIntervalByStore: HOOKSCOPE_FLUSH_INTERVAL=auto (the default)
// gives the embedded store 10ms batches and ClickHouse 100ms; a set value
// wins for both; an invalid one is refused.
func TestFlushIntervalByStore(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want time.Duration
	}{
		{"embedded default", nil, 10 * time.Millisecond},
		{"clickhouse default", map[string]string{"HOOKSCOPE_CLICKHOUSE_URL": "clickhouse://127.0.0.1:9000/db"}, 100 * time.Millisecond},
		{"auto", map[string]string{"HOOKSCOPE_FLUSH_INTERVAL": "auto"}, 10 * time.Millisecond},
		{"set, embedded", map[string]string{"HOOKSCOPE_FLUSH_INTERVAL": "250ms"}, 250 * time.Millisecond},
		{"set, clickhouse", map[string]string{"HOOKSCOPE_FLUSH_INTERVAL": "5ms", "HOOKSCOPE_CLICKHOUSE_URL": "clickhouse://127.0.0.1:9000/db"}, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parseConfig("hookscope", nil, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if got := flushInterval(cfg); got != tc.want {
				t.Fatalf("flush interval %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"0", "-1s", "soon"} {
		if _, err := parseConfig("hookscope", nil, func(k string) string {
			if k == "HOOKSCOPE_FLUSH_INTERVAL" {
				return bad
			}
			return ""
		}, io.Discard); err == nil {
			t.Errorf("HOOKSCOPE_FLUSH_INTERVAL=%q accepted", bad)
		}
	}
}
