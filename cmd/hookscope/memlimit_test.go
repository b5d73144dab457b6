package main

import (
	"math"
	"runtime/debug"
	"testing"
)

func TestDefaultMemoryLimit(t *testing.T) {
	prev := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })

	debug.SetMemoryLimit(math.MaxInt64)
	if _, ok := defaultMemoryLimit(func(k string) string {
		if k == "GOMEMLIMIT" {
			return "off"
		}
		return ""
	}); ok {
		t.Error("GOMEMLIMIT=off was overridden")
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("limit with GOMEMLIMIT set = %d, want it untouched", got)
	}

	if limit, ok := defaultMemoryLimit(func(string) string { return "" }); !ok || limit != memoryLimit {
		t.Fatalf("defaultMemoryLimit() = %d, %v", limit, ok)
	}
	if got := debug.SetMemoryLimit(-1); got != memoryLimit {
		t.Errorf("runtime limit = %d, want %d", got, memoryLimit)
	}
}
