package drivercmp

import (
	"testing"
	"time"
)

// TestFirstOpen logs how long the first connection of each driver takes in a
// fresh process (run each alone: go test -run 'TestFirstOpen/ncruces' -v).
func TestFirstOpen(t *testing.T) {
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			began := time.Now()
			db := open(t, d, t.TempDir())
			defer db.Close()
			var v string
			if err := db.QueryRow("SELECT sqlite_version()").Scan(&v); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: first open + schema + query in %v", d.name, time.Since(began))
		})
	}
}
