package clickhouse

import (
	"testing"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/clickhouse/chtest"
	"github.com/hookscope/hookscope/schema/schematest"
)

// TestConformance runs the shared storage suite against one store on a
// fresh database of the real server (the suite uses unique bins per case).
func TestConformance(t *testing.T) {
	chtest.Each(t, func(t *testing.T, srv *chtest.Server) {
		s := newStoreOn(t, srv)
		schematest.Run(t, func(*testing.T) schema.Store { return s })
	})
}
