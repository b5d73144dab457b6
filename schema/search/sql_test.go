package search_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hookscope/hookscope/schema/search"
)

// SQL writes the boolean structure and the plain-column terms itself and
// hands every other term to the store's dialect, with bound arguments only.
func TestSQL(t *testing.T) {
	dialect := func(tm *search.Term, b *strings.Builder, args []any) []any {
		b.WriteString("D(?)")
		return append(args, tm.Value)
	}
	for _, tc := range []struct {
		q    string
		want string
		args []any
	}{
		{"method:post", "method = ?", []any{"POST"}},
		{"status:5xx", "(response_status >= ? AND response_status <= ?)", []any{500, 599}},
		{"ip:10.0.0.1 signature:invalid", "(remote_ip = ? AND sig_status = ?)", []any{"10.0.0.1", "invalid"}},
		{"event_type:push OR delivery_id:d1", "(event_type = ? OR delivery_id = ?)", []any{"push", "d1"}},
		{"-lemon", "NOT (D(?))", []any{"lemon"}},
		{"x' OR 1=1", "(D(?) OR D(?))", []any{"x'", "1=1"}},
	} {
		n, err := search.Parse(tc.q)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tc.q, err)
		}
		var b strings.Builder
		args := search.SQL(n, &b, nil, dialect)
		if b.String() != tc.want || !reflect.DeepEqual(args, tc.args) {
			t.Errorf("SQL(%q) = %q %#v; want %q %#v", tc.q, b.String(), args, tc.want, tc.args)
		}
	}
}
