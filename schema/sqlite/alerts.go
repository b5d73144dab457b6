package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	ruleCols   = `id, bin_id, doc, created_at, updated_at`
	putRuleSQL = `INSERT INTO alert_rules (` + ruleCols + `) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET bin_id = excluded.bin_id, doc = excluded.doc,
    created_at = excluded.created_at, updated_at = excluded.updated_at`
	getRuleSQL   = `SELECT ` + ruleCols + ` FROM alert_rules WHERE id = ?`
	listRulesSQL = `SELECT ` + ruleCols + ` FROM alert_rules ORDER BY created_at ASC, id ASC`
	eventCols    = `id, rule_id, bin_id, state, at, doc`
	appendEvtSQL = `INSERT INTO alert_events (` + eventCols + `) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`

	defaultEventLimit = 100
)

func rawOrNil(m json.RawMessage) any {
	if m == nil {
		return nil
	}
	return []byte(m)
}

// PutRule creates or replaces a rule by id.
func (s *Store) PutRule(ctx context.Context, r *schema.AlertRule) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("put rule: %w: empty id", schema.ErrInvalid)
	}
	if _, err := s.w.ExecContext(ctx, putRuleSQL, r.ID, r.BinID, rawOrNil(r.Doc),
		micros(r.CreatedAt), micros(r.UpdatedAt)); err != nil {
		return fmt.Errorf("put rule: %w", wrapErr(err))
	}
	return nil
}

func scanRule(sc rowScanner) (*schema.AlertRule, error) {
	var (
		r                schema.AlertRule
		doc              []byte
		created, updated int64
	)
	if err := sc.Scan(&r.ID, &r.BinID, &doc, &created, &updated); err != nil {
		return nil, err
	}
	if doc != nil {
		r.Doc = json.RawMessage(doc)
	}
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &r, nil
}

// GetRule returns a rule or ErrNotFound.
func (s *Store) GetRule(ctx context.Context, id string) (*schema.AlertRule, error) {
	r, err := scanRule(s.r.QueryRowContext(ctx, getRuleSQL, id))
	if err == sql.ErrNoRows {
		return nil, fmt.Errorf("get rule %q: %w", id, schema.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get rule %q: %w", id, wrapErr(err))
	}
	return r, nil
}

// ListRules returns every rule, oldest first.
func (s *Store) ListRules(ctx context.Context) ([]*schema.AlertRule, error) {
	rows, err := s.r.QueryContext(ctx, listRulesSQL)
	if err != nil {
		return nil, fmt.Errorf("list rules: %w", wrapErr(err))
	}
	defer rows.Close()
	rules := []*schema.AlertRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, fmt.Errorf("list rules: scan: %w", wrapErr(err))
		}
		rules = append(rules, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list rules: %w", wrapErr(err))
	}
	return rules, nil
}

// DeleteRule removes a rule; its events stay.
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM alert_rules WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete rule: %w", wrapErr(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete rule: rows affected: %w", err)
	} else if n == 0 {
		return fmt.Errorf("delete rule %q: %w", id, schema.ErrNotFound)
	}
	return nil
}

// AppendEvent stores an event once per id.
func (s *Store) AppendEvent(ctx context.Context, e *schema.AlertEvent) error {
	if e == nil || e.ID == uuid.Nil {
		return fmt.Errorf("append event: %w: empty id", schema.ErrInvalid)
	}
	if _, err := s.w.ExecContext(ctx, appendEvtSQL, e.ID[:], e.RuleID, e.BinID, e.State,
		micros(e.At), rawOrNil(e.Doc)); err != nil {
		return fmt.Errorf("append event: %w", wrapErr(err))
	}
	return nil
}

// ListEvents returns matching events, newest (largest id) first.
func (s *Store) ListEvents(ctx context.Context, f schema.EventFilter) ([]*schema.AlertEvent, error) {
	var (
		conds []string
		args  []any
	)
	if f.RuleID != "" {
		conds = append(conds, "rule_id = ?")
		args = append(args, f.RuleID)
	}
	if f.BinID != "" {
		conds = append(conds, "bin_id = ?")
		args = append(args, f.BinID)
	}
	if f.Before != nil {
		conds = append(conds, "id < ?")
		args = append(args, f.Before[:])
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultEventLimit
	}
	q := `SELECT ` + eventCols + ` FROM alert_events`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", wrapErr(err))
	}
	defer rows.Close()
	events := []*schema.AlertEvent{}
	for rows.Next() {
		var (
			e       schema.AlertEvent
			id, doc []byte
			at      int64
		)
		if err := rows.Scan(&id, &e.RuleID, &e.BinID, &e.State, &at, &doc); err != nil {
			return nil, fmt.Errorf("list events: scan: %w", wrapErr(err))
		}
		if e.ID, err = uuid.FromBytes(id); err != nil {
			return nil, fmt.Errorf("list events: decode id: %w", err)
		}
		e.At = fromMicros(at)
		if doc != nil {
			e.Doc = json.RawMessage(doc)
		}
		events = append(events, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list events: %w", wrapErr(err))
	}
	return events, nil
}
