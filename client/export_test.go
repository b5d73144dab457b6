package client

import "testing"

// TestCheckComplete: the end-of-stream markers of a cut export
// (web/export.go writes them) are errors; complete exports are not.
func TestCheckComplete(t *testing.T) {
	for _, tc := range []struct {
		format, tail string
		cut          bool
	}{
		{"ndjson", "{\"id\":\"a\"}\n{\"id\":\"b\"}\n", false},
		{"ndjson", "", false},
		{"ndjson", "{\"id\":\"a\"}\n{\"error\":\"export stopped before the end; see the server log\"}\n", true},
		{"csv", "id,received_at\nx,y\n", false},
		{"csv", "id,received_at\nx,y\n\n#error,export stopped before the end; see the server log\n", true},
		{"har", "{\"log\":{\"entries\":[\n{}\n]}}\n", false},
		{"har", "{\"log\":{\"entries\":[\n{},{\"_id\":\"x\"", true},
	} {
		if err := checkComplete(tc.format, []byte(tc.tail)); (err != nil) != tc.cut {
			t.Errorf("checkComplete(%s, %q) = %v; want cut %v", tc.format, tc.tail, err, tc.cut)
		}
	}
}
