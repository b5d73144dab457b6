package web

import (
	"strconv"
	"testing"
	"time"
)

func TestKeyedLimiterBucketsAndBound(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	k := newKeyedLimiter(2, 3) // 2/s, burst 2, at most 3 keys
	for i, want := range []bool{true, true, false} {
		if _, ok := k.allow("a", now); ok != want {
			t.Fatalf("a #%d: ok=%v, want %v", i, ok, want)
		}
	}
	wait, ok := k.allow("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("retry after %v ok=%v, want a wait within 1s", wait, ok)
	}
	if _, ok := k.allow("a", now.Add(500*time.Millisecond)); !ok {
		t.Fatal("a token should have been refilled after 0.5s at 2/s")
	}
	// Other keys have their own buckets; the LRU keeps at most 3.
	for _, key := range []string{"b", "c", "d", "e"} {
		if _, ok := k.allow(key, now); !ok {
			t.Fatalf("%s refused", key)
		}
	}
	if k.ll.Len() != 3 || len(k.m) != 3 {
		t.Fatalf("kept %d/%d limiters, want 3", k.ll.Len(), len(k.m))
	}
	if _, ok := k.m["a"]; ok {
		t.Fatal("least recently used key a was not evicted")
	}
}

func BenchmarkKeyedLimiterAllow(b *testing.B) {
	k := newKeyedLimiter(1e9, maxLimiters)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k.allow(keys[i%len(keys)], now)
	}
}
