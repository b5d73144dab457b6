// Filter.Q: the search language (schema/search) compiled into one WHERE
// condition with bound arguments.

package clickhouse

import (
	"fmt"
	"strings"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/search"
)

// sqlBody is the stored body in one piece (for JSON terms only: text
// search reads the halves, see condTextSearch).
const sqlBody = `concat(body_head, body_tail)`

// addSearch adds q's condition to qu. Terms are ANDed with the rest of
// the filter; a q that does not parse is ErrInvalid (the API parsed it
// already, so only a direct caller sees this).
func (s *Store) addSearch(qu *query, q string) error {
	n, err := search.Parse(q)
	if err != nil {
		return fmt.Errorf("%w: q: %w", schema.ErrInvalid, err)
	}
	if n == nil {
		return nil
	}
	var b strings.Builder
	args := search.SQL(n, &b, nil, s.compileTerm)
	qu.add(b.String(), args...)
	// Last: on modern servers conditions are evaluated lazily in order, so
	// the costly expression runs only on rows the rest left, while the
	// index, which needs only its presence, skips granules. Only words
	// every match must contain qualify: the top level's, or those ANDed
	// there (not under OR or NOT).
	if s.searchIndex {
		for _, w := range requiredWords(n) {
			if len(w) >= searchIndexMinLen {
				qu.add(condSearchIndex, "%"+likeEscape(asciiLower(w))+"%")
			}
		}
	}
	return nil
}

func requiredWords(n *search.Node) []string {
	switch {
	case n.Op == search.OpTerm && n.Term.Field == search.Text:
		return []string{n.Term.Value}
	case n.Op == search.OpAnd:
		var ws []string
		for _, k := range n.Kids {
			if k.Op == search.OpTerm && k.Term.Field == search.Text {
				ws = append(ws, k.Term.Value)
			}
		}
		return ws
	}
	return nil
}

// compileTerm writes the terms whose SQL is this store's own (search.SQL
// writes the rest).
func (s *Store) compileTerm(t *search.Term, b *strings.Builder, args []any) []any {
	switch t.Field {
	case search.Text:
		// The body is searched in its two stored halves, plus the few bytes
		// around the cut for a match that straddles it, which avoids
		// concatenating every body.
		v := t.Value
		b.WriteString(condTextSearch)
		args = append(args, v, v, v, v, v, v)
		if k := len(v) - 1; k > 0 {
			b.WriteString(condTextSearchCut)
			args = append(args, max(1, schema.PreviewBytes-k+1), k, v)
		}
		b.WriteByte(')')
		return args
	case search.Path:
		b.WriteString("positionCaseInsensitive(path, ?) > 0")
		return append(args, t.Value)
	case search.Header:
		if t.HasValue {
			b.WriteString("arrayExists((n, v) -> lower(n) = ? AND lower(v) = ?, header_names, header_values)")
			return append(args, t.Name, t.Value)
		}
		b.WriteString("arrayExists(n -> lower(n) = ?, header_names)")
		return append(args, t.Name)
	case search.Body:
		return s.compileBody(t, b, args)
	}
	b.WriteString("0")
	return args
}

// compileBody: the value at the keys is a string equal to the value, or a
// scalar written as the value (search.MatchJSON). Modern servers walk the
// keys with JSONExtract*. 18.16 has only the visitParam functions, which
// find a key by its first occurrence as `"key":` anywhere in the text and
// do not validate the document: the chain narrows to each key's raw value
// in turn, exact for the bodies webhooks send (keys not repeated at
// another depth before their place) but not for every document.
func (s *Store) compileBody(t *search.Term, b *strings.Builder, args []any) []any {
	var str, raw string
	var rawArgs []any
	if s.features.JSONExtract {
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(t.Keys)), ", ")
		str = "JSONExtractString(" + sqlBody + ", " + ph + ")"
		raw = "JSONExtractRaw(" + sqlBody + ", " + ph + ")"
		for _, k := range t.Keys {
			rawArgs = append(rawArgs, k)
		}
	} else {
		parent := sqlBody
		var parentArgs []any
		for _, k := range t.Keys[:len(t.Keys)-1] {
			parent = "visitParamExtractRaw(" + parent + ", ?)"
			parentArgs = append(parentArgs, k)
		}
		last := t.Keys[len(t.Keys)-1]
		raw = "replaceRegexpAll(visitParamExtractRaw(" + parent + ", ?), '^\\\\s+|\\\\s+$', '')"
		// visitParamExtractString wants the string right after the colon:
		// the raw value (white space trimmed) is wrapped in an object again.
		str = "visitParamExtractString(concat('{\"v\":', " + raw + ", '}'), 'v')"
		rawArgs = append(append([]any{}, parentArgs...), last)
	}
	// (lower(str) = v OR (lower(raw) = v AND raw is no string, object or array))
	b.WriteString("(lower(" + str + ") = ? OR (lower(" + raw + ") = ? AND NOT (" +
		raw + " LIKE '\"%' OR " + raw + " LIKE '{%' OR " + raw + " LIKE '[%')))")
	args = append(args, rawArgs...) // str
	args = append(args, t.Value)
	args = append(args, rawArgs...) // raw
	args = append(args, t.Value)
	for range 3 { // the three LIKEs
		args = append(args, rawArgs...)
	}
	return args
}
