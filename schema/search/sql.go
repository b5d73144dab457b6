package search

import "strings"

// SQL writes n as a condition of a SQL store with bound arguments, appended
// to args. NOT, AND, OR and the terms on plain columns (method, status, ip,
// event_type, delivery_id, signature: the same column names in both stores)
// are written here; dialect writes the terms whose SQL differs per store
// (text, path, header, body). The parser bounds n's depth and size.
func SQL(n *Node, b *strings.Builder, args []any, dialect func(*Term, *strings.Builder, []any) []any) []any {
	switch n.Op {
	case OpNot:
		b.WriteString("NOT (")
		args = SQL(n.Kids[0], b, args, dialect)
		b.WriteByte(')')
		return args
	case OpAnd, OpOr:
		sep := " AND "
		if n.Op == OpOr {
			sep = " OR "
		}
		b.WriteByte('(')
		for i, k := range n.Kids {
			if i > 0 {
				b.WriteString(sep)
			}
			args = SQL(k, b, args, dialect)
		}
		b.WriteByte(')')
		return args
	}
	t := &n.Term
	switch t.Field {
	case Method:
		b.WriteString("method = ?")
	case IP:
		b.WriteString("remote_ip = ?")
	case EventType:
		b.WriteString("event_type = ?")
	case DeliveryID:
		b.WriteString("delivery_id = ?")
	case Signature:
		b.WriteString("sig_status = ?")
	case Status:
		b.WriteString("(response_status >= ? AND response_status <= ?)")
		return append(args, t.Lo, t.Hi)
	default:
		return dialect(t, b, args)
	}
	return append(args, t.Value)
}
