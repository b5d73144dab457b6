package caplog

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// The forward detail of a record (flag 32), after every other field:
//
//	str     State, Skipped
//	varint  NextAt in Unix microseconds (0: none)
//	uvarint attempt count, then per attempt: varint At (Unix µs),
//	        varint Status, varint LatencyUS, str Error

func hasForwardDetail(f *schema.Forward) bool {
	return f != nil && (f.State != "" || f.Skipped != "" || f.NextAt != nil || len(f.Attempts) > 0)
}

func appendForwardDetail(dst []byte, f *schema.Forward) []byte {
	dst = appendStr(dst, string(f.State))
	dst = appendStr(dst, f.Skipped)
	var next int64
	if f.NextAt != nil {
		next = f.NextAt.UnixMicro()
	}
	dst = binary.AppendVarint(dst, next)
	dst = binary.AppendUvarint(dst, uint64(len(f.Attempts)))
	for _, a := range f.Attempts {
		dst = binary.AppendVarint(dst, a.At.UnixMicro())
		dst = binary.AppendVarint(dst, int64(a.Status))
		dst = binary.AppendVarint(dst, a.LatencyUS)
		dst = appendStr(dst, a.Error)
	}
	return dst
}

func (d *decoder) forwardDetail(f *schema.Forward) error {
	f.State = schema.ForwardState(d.str())
	f.Skipped = d.str()
	if next := d.varint(); next != 0 {
		t := time.UnixMicro(next).UTC()
		f.NextAt = &t
	}
	n := d.uvarint()
	// An attempt takes at least four bytes: a larger count is refused
	// before the slice is allocated.
	if n > uint64(len(d.s)-d.off)/4 {
		return fmt.Errorf("%w: %d forward attempts in %d bytes", errRecord, n, len(d.s)-d.off)
	}
	if n > 0 {
		f.Attempts = make([]schema.ForwardAttempt, n)
		for i := range f.Attempts {
			a := &f.Attempts[i]
			a.At = time.UnixMicro(d.varint()).UTC()
			a.Status = d.int()
			a.LatencyUS = d.varint()
			a.Error = d.str()
		}
	}
	return nil
}

// UpdateEntry builds the log entry of a later forward outcome of r (a retry
// or a redelivery): r's whole record, marked as an update, under a fresh
// entry id (the log may drop a second entry with r's id). The store writer
// stores r if it is missing and then replaces its forward (newest version
// wins); the alert observer and the live feed skip it.
func UpdateEntry(buf []byte, r *schema.Request) (Entry, error) {
	data, err := EncodeRequest(buf[:0], r)
	if err != nil {
		return Entry{}, err
	}
	data[1+16] |= flagUpdate
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return Entry{Key: r.BinID, ID: id, Data: data}, nil
}

// IsUpdate reports whether a record's Data is a forward update (UpdateEntry).
func IsUpdate(data []byte) bool {
	return len(data) > 17 && data[0] == requestV1 && data[17]&flagUpdate != 0
}
