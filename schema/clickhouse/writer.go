// The write path: WriteRequests, one idempotent batch insert.

package clickhouse

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

// WriteRequests stores reqs with one batch insert. Before inserting it asks
// which of the ids are already stored (in the narrow key range of the batch)
// and skips them, so replaying a batch after a failure stores nothing twice;
// the table is also a ReplacingMergeTree on (bin_id, received_us, id), which
// collapses any duplicate that slipped past the check when parts merge.
func (s *Store) WriteRequests(ctx context.Context, reqs []*schema.Request) error {
	if len(reqs) == 0 {
		return nil
	}
	for _, r := range reqs {
		if r == nil || r.BinID == "" || r.ID == uuid.Nil {
			return fmt.Errorf("write requests: %w: request needs a bin id and an id", schema.ErrInvalid)
		}
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	exists := make(map[uuid.UUID]bool, len(reqs))
	if !s.skipExistingCheck {
		var err error
		if exists, err = s.existingIDs(ctx, reqs); err != nil {
			return err
		}
	}
	batch, err := s.conn.PrepareBatch(ctx, sqlInsertRequests)
	if err != nil {
		return classify("prepare batch", err)
	}
	defer batch.Abort()
	ingest := s.tick()
	n := 0
	for _, r := range reqs {
		if exists[r.ID] {
			continue
		}
		exists[r.ID] = true // a duplicate inside reqs is written once
		if err := appendRequest(batch, r, ingest); err != nil {
			return fmt.Errorf("append request %s: %w", r.ID, err)
		}
		n++
	}
	if n == 0 {
		return nil
	}
	if err := batch.Send(); err != nil {
		return classify("send batch", err)
	}
	return nil
}

// existingIDs returns which ids of reqs are already stored. It first reads
// every id stored in the batch's bins and time range (for a fresh batch of
// the ingest that range holds few rows, for a replayed one the batch
// itself) and intersects in Go; only when that range holds many more rows
// than the batch does it send the ids (in chunks) to be looked up.
func (s *Store) existingIDs(ctx context.Context, reqs []*schema.Request) (map[uuid.UUID]bool, error) {
	exists := make(map[uuid.UUID]bool, len(reqs))
	want := make(map[uuid.UUID]bool, len(reqs))
	bins := map[string]bool{}
	var binList []any
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for _, r := range reqs {
		us := schema.Truncate(r.ReceivedAt).UnixMicro()
		lo, hi = min(lo, us), max(hi, us)
		want[r.ID] = true
		if !bins[r.BinID] {
			bins[r.BinID] = true
			binList = append(binList, r.BinID)
		}
	}
	limit := 4*len(reqs) + 1000
	rows, err := s.conn.Query(ctx, sqlIDsInRange,
		clickhouse.GroupSet{Value: binList}, lo, hi, limit)
	if err != nil {
		return nil, classify("check existing ids", err)
	}
	n := 0
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, classify("scan existing ids", err)
		}
		n++
		if want[id] {
			exists[id] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, classify("check existing ids", err)
	}
	if n < limit {
		return exists, nil
	}
	for start := 0; start < len(reqs); start += existingIDsMax {
		chunk := reqs[start:min(len(reqs), start+existingIDsMax)]
		ids := make([]any, len(chunk))
		for i, r := range chunk {
			ids[i] = hexID(r.ID)
		}
		rows, err := s.conn.Query(ctx, sqlIDsAmong,
			clickhouse.GroupSet{Value: binList}, lo, hi, clickhouse.GroupSet{Value: ids})
		if err != nil {
			return nil, classify("check existing ids", err)
		}
		for rows.Next() {
			var id uuid.UUID
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, classify("scan existing ids", err)
			}
			exists[id] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, classify("check existing ids", err)
		}
	}
	return exists, nil
}

func hexID(id uuid.UUID) string { return strings.ToUpper(hex.EncodeToString(id[:])) }

type appender interface{ Append(v ...any) error }

func appendRequest(b appender, r *schema.Request, ingest int64) error {
	names := make([]string, len(r.Headers))
	values := make([]string, len(r.Headers))
	for i, h := range r.Headers {
		names[i], values[i] = h.Name, h.Value
	}
	head, tail := r.Body, []byte(nil)
	if len(head) > schema.PreviewBytes {
		head, tail = r.Body[:schema.PreviewBytes], r.Body[schema.PreviewBytes:]
	}
	var fwd schema.Forward
	hasFwd := uint8(0)
	if r.Forward != nil {
		fwd, hasFwd = *r.Forward, 1
	}
	dup := ""
	if r.DuplicateOf != nil {
		dup = r.DuplicateOf.String()
	}
	red, err := schema.EncodeRedaction(r.Redacted)
	if err != nil {
		return err
	}
	fwdState, fwdDetail, err := forwardColumns(r.Forward)
	if err != nil {
		return err
	}
	return b.Append(
		r.BinID, schema.Truncate(r.ReceivedAt).UnixMicro(), r.ID, ingest,
		r.Method, r.Path, r.Query, names, values, r.RemoteIP, r.ContentType,
		r.BodySize, boolByte(r.BodyTruncated), head, tail, // []byte: copied once, into the column
		uint16(r.ResponseStatus), r.LatencyUS,
		r.Signature.Scheme, string(r.Signature.Status), r.Signature.Reason, r.DeliveryLagMS,
		hasFwd, fwd.URL, fwd.Mode, int32(fwd.Status), fwd.LatencyUS, fwd.Error, boolByte(r.Aborted),
		r.EventType, r.DeliveryID, int32(r.Attempt), dup, r.RefusedReason, red, fwdState, fwdDetail,
	)
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
