// Filter.Q: the search language (schema/search) compiled into SQL with
// bound arguments. Header and JSON-body terms call two Go functions
// registered with the driver, so their meaning is search.MatchHeader's and
// search.MatchJSON's byte for byte (the stored header blob cannot be
// matched exactly with instr: a needle can straddle a value and the next
// name).

package sqlite

import (
	"database/sql/driver"
	"fmt"
	"strings"
	"sync"

	msqlite "modernc.org/sqlite"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/search"
)

const (
	fnHeader = "hookscope_header" // (headers BLOB, name, value, has) → 0/1
	fnJSON   = "hookscope_json"   // (body BLOB, keys joined by '.', value) → 0/1
)

var registerOnce sync.Once

// registerFunctions adds the search functions to the driver, once per
// process, before the first connection opens.
func registerFunctions() {
	registerOnce.Do(func() {
		msqlite.MustRegisterDeterministicScalarFunction(fnHeader, 4, func(_ *msqlite.FunctionContext, a []driver.Value) (driver.Value, error) {
			hs, err := decodeHeaders(asBytes(a[0]))
			if err != nil {
				return nil, err
			}
			has, _ := a[3].(int64)
			return boolInt(search.MatchHeader(hs, asString(a[1]), asString(a[2]), has != 0)), nil
		})
		msqlite.MustRegisterDeterministicScalarFunction(fnJSON, 3, func(_ *msqlite.FunctionContext, a []driver.Value) (driver.Value, error) {
			return boolInt(search.MatchJSON(asBytes(a[0]), strings.Split(asString(a[1]), "."), asString(a[2]))), nil
		})
	})
}

func asBytes(v driver.Value) []byte {
	switch x := v.(type) {
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return nil
}

func asString(v driver.Value) string {
	switch x := v.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	return ""
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// whereQ appends " AND (q's condition)" to b; nothing for a blank q. A q
// that does not parse is ErrInvalid (the API parsed it already).
func whereQ(q string, b *strings.Builder, args []any) ([]any, error) {
	n, err := search.Parse(q)
	if err != nil {
		return args, fmt.Errorf("%w: q: %w", schema.ErrInvalid, err)
	}
	if n == nil {
		return args, nil
	}
	b.WriteString(" AND ")
	return search.SQL(n, b, args, compileTerm), nil
}

// compileTerm writes the terms whose SQL is this store's own (search.SQL
// writes the rest).
func compileTerm(t *search.Term, b *strings.Builder, args []any) []any {
	switch t.Field {
	case search.Text:
		// lower() folds ASCII only, like foldASCII; instr() works on the
		// byte length, so NUL bytes in a body do not end the search early
		// (LIKE would stop at the first NUL).
		needle := foldASCII(t.Value)
		b.WriteString(`(instr(lower(path), ?) > 0 OR instr(lower(query), ?) > 0` +
			` OR instr(lower(headers), ?) > 0 OR instr(lower(body), ?) > 0)`)
		return append(args, needle, needle, string(appendEscaped(nil, needle)), needle)
	case search.Path:
		b.WriteString("instr(lower(path), ?) > 0")
		return append(args, foldASCII(t.Value))
	case search.Header:
		b.WriteString(fnHeader + "(headers, ?, ?, ?) = 1")
		return append(args, t.Name, t.Value, boolInt(t.HasValue))
	case search.Body:
		b.WriteString(fnJSON + "(body, ?, ?) = 1")
		return append(args, search.JoinKeys(t.Keys), t.Value)
	}
	b.WriteString("0")
	return args
}
