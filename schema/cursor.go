package schema

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Cursor is a position in a bin's (ReceivedAt, ID) order. Its string form is
// opaque to API users.
type Cursor struct {
	ReceivedAt time.Time
	ID         uuid.UUID
}

// CursorOf returns the cursor positioned at r.
func CursorOf(r *Request) *Cursor {
	return &Cursor{ReceivedAt: Truncate(r.ReceivedAt), ID: r.ID}
}

// String encodes the cursor as 24 bytes of unpadded base64url:
// 8 bytes of Unix microseconds (big endian) then the 16-byte id.
func (c Cursor) String() string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(c.ReceivedAt.UnixMicro()))
	copy(b[8:], c.ID[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ParseCursor decodes Cursor.String. Errors wrap ErrInvalid.
func ParseCursor(s string) (*Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 24 {
		return nil, fmt.Errorf("%w: malformed cursor", ErrInvalid)
	}
	var c Cursor
	c.ReceivedAt = time.UnixMicro(int64(binary.BigEndian.Uint64(b[:8]))).UTC()
	copy(c.ID[:], b[8:])
	return &c, nil
}

// Less reports whether (t, id) sorts before c in (ReceivedAt, ID) order. IDs
// compare bytewise, which equals the order of their canonical strings.
func (c Cursor) Less(t time.Time, id uuid.UUID) bool {
	t = Truncate(t)
	if !t.Equal(c.ReceivedAt) {
		return t.Before(c.ReceivedAt)
	}
	return string(id[:]) < string(c.ID[:])
}

// IDTime returns the millisecond timestamp a UUIDv7 carries (ok is false for
// other versions). Ingest mints a request's ID and ReceivedAt in one step, so
// for captured requests IDTime is within a few milliseconds of ReceivedAt;
// stores may use it to narrow a lookup by id, but must still find requests
// whose ids do not carry their time (a fallback search).
func IDTime(id uuid.UUID) (time.Time, bool) {
	if id.Version() != 7 {
		return time.Time{}, false
	}
	ms := int64(binary.BigEndian.Uint64(id[:8]) >> 16)
	return time.UnixMilli(ms).UTC(), true
}
