package clickhouse

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

const (
	sqlInsertRule   = `INSERT INTO alert_rules (id, bin_id, doc, created_us, updated_us, deleted, version)`
	sqlSelectRules  = `SELECT id, bin_id, doc, created_us, updated_us, deleted FROM alert_rules FINAL`
	sqlInsertEvent  = `INSERT INTO alert_events (id, rule_id, bin_id, state, at_us, doc)`
	sqlSelectEvents = `SELECT id, rule_id, bin_id, state, at_us, doc FROM alert_events`
)

type ruleRow struct {
	rule    schema.AlertRule
	deleted bool
}

func scanRule(row scanner) (*ruleRow, error) {
	var (
		r                  schema.AlertRule
		doc                string
		createdUS, updated int64
		deleted            uint8
	)
	if err := row.Scan(&r.ID, &r.BinID, &doc, &createdUS, &updated, &deleted); err != nil {
		return nil, err
	}
	if doc != "" {
		r.Doc = json.RawMessage(doc)
	}
	r.CreatedAt = time.UnixMicro(createdUS).UTC()
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	return &ruleRow{rule: r, deleted: deleted == 1}, nil
}

func (s *Store) getRule(ctx context.Context, id string) (*ruleRow, error) {
	rows, err := s.conn.Query(ctx, sqlSelectRules+` WHERE id = ?`, id)
	if err != nil {
		return nil, classify("get rule", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, classify("get rule", err)
		}
		return nil, nil
	}
	r, err := scanRule(rows)
	if err != nil {
		return nil, classify("scan rule", err)
	}
	return r, nil
}

func (s *Store) putRule(ctx context.Context, r *schema.AlertRule, deleted bool) error {
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertRule)
	if err != nil {
		return classify("prepare rule insert", err)
	}
	defer batch.Abort()
	if err := batch.Append(r.ID, r.BinID, string(r.Doc), schema.Truncate(r.CreatedAt).UnixMicro(),
		schema.Truncate(r.UpdatedAt).UnixMicro(), boolByte(deleted), uint64(s.tick())); err != nil {
		return fmt.Errorf("append rule: %w", err)
	}
	if err := batch.Send(); err != nil {
		return classify("insert rule", err)
	}
	return nil
}

// PutRule creates or replaces a rule by ID.
func (s *Store) PutRule(ctx context.Context, r *schema.AlertRule) error {
	if r == nil || r.ID == "" {
		return fmt.Errorf("put rule: %w: id required", schema.ErrInvalid)
	}
	if len(r.Doc) > 0 && !json.Valid(r.Doc) {
		return fmt.Errorf("put rule: %w: doc is not JSON", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return s.putRule(ctx, r, false)
}

// GetRule returns a rule or ErrNotFound.
func (s *Store) GetRule(ctx context.Context, id string) (*schema.AlertRule, error) {
	r, err := s.getRule(ctx, id)
	if err != nil {
		return nil, err
	}
	if r == nil || r.deleted {
		return nil, fmt.Errorf("rule %s: %w", id, schema.ErrNotFound)
	}
	return &r.rule, nil
}

// ListRules returns every rule, oldest first.
func (s *Store) ListRules(ctx context.Context) ([]*schema.AlertRule, error) {
	rows, err := s.conn.Query(ctx, sqlSelectRules)
	if err != nil {
		return nil, classify("list rules", err)
	}
	defer rows.Close()
	out := []*schema.AlertRule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, classify("scan rule", err)
		}
		if !r.deleted {
			out = append(out, &r.rule)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, classify("list rules", err)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// DeleteRule removes a rule (its events stay).
func (s *Store) DeleteRule(ctx context.Context, id string) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	r, err := s.getRule(ctx, id)
	if err != nil {
		return err
	}
	if r == nil || r.deleted {
		return fmt.Errorf("delete rule %s: %w", id, schema.ErrNotFound)
	}
	return s.putRule(ctx, &r.rule, true)
}

// AppendEvent stores an event once per id.
func (s *Store) AppendEvent(ctx context.Context, e *schema.AlertEvent) error {
	if e == nil || e.ID == uuid.Nil {
		return fmt.Errorf("append event: %w: id required", schema.ErrInvalid)
	}
	if len(e.Doc) > 0 && !json.Valid(e.Doc) {
		return fmt.Errorf("append event: %w: doc is not JSON", schema.ErrInvalid)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var n uint64
	if err := s.conn.QueryRow(ctx, `SELECT count() FROM alert_events WHERE id = UUIDStringToNum(?)`,
		e.ID.String()).Scan(&n); err != nil {
		return classify("check event", err)
	}
	if n > 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertEvent)
	if err != nil {
		return classify("prepare event insert", err)
	}
	defer batch.Abort()
	if err := batch.Append(e.ID, e.RuleID, e.BinID, e.State, schema.Truncate(e.At).UnixMicro(), string(e.Doc)); err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	if err := batch.Send(); err != nil {
		return classify("insert event", err)
	}
	return nil
}

// ListEvents returns events matching f, newest (largest id) first.
func (s *Store) ListEvents(ctx context.Context, f schema.EventFilter) ([]*schema.AlertEvent, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q := &query{}
	q.add("1")
	if f.RuleID != "" {
		q.add("rule_id = ?", f.RuleID)
	}
	if f.BinID != "" {
		q.add("bin_id = ?", f.BinID)
	}
	if f.Before != nil {
		q.add("id < UUIDStringToNum(?)", f.Before.String())
	}
	rows, err := s.conn.Query(ctx, sqlSelectEvents+` WHERE `+q.sql()+` ORDER BY id DESC LIMIT 1 BY id LIMIT ?`,
		append(q.args, limit)...)
	if err != nil {
		return nil, classify("list events", err)
	}
	defer rows.Close()
	out := []*schema.AlertEvent{}
	for rows.Next() {
		var e schema.AlertEvent
		var atUS int64
		var doc string
		if err := rows.Scan(&e.ID, &e.RuleID, &e.BinID, &e.State, &atUS, &doc); err != nil {
			return nil, classify("scan event", err)
		}
		e.At = time.UnixMicro(atUS).UTC()
		if doc != "" {
			e.Doc = json.RawMessage(doc)
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, classify("list events", err)
	}
	return out, nil
}
