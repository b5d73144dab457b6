package sqlite

import (
	"strings"
	"testing"
)

// requestParams must equal insertRequestSQL's placeholders: a new column
// added to one and not the other fails here, not as a bind error at run time.
func TestRequestParamsMatchesInsert(t *testing.T) {
	if n := strings.Count(insertRequestSQL, "?"); n != requestParams {
		t.Fatalf("insertRequestSQL has %d placeholders, requestParams is %d", n, requestParams)
	}
	if n := strings.Count(insertRowsSQL(insertChunk), "?"); n != requestParams*insertChunk {
		t.Fatalf("insertRowsSQL(%d) has %d placeholders, want %d", insertChunk, n, requestParams*insertChunk)
	}
}
