package caplog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

// The binary form of a *schema.Request in the log (Entry.Data). Both log
// implementations carry it; it is faster and smaller than JSON or gob, and
// decoding it is bounded by the input: every length is checked against the
// bytes that remain before anything is allocated.
//
//	byte    version (requestV1)
//	[16]    ID
//	byte    flags: 1 body truncated, 2 delivery lag present, 4 forward present,
//	        8 aborted upload, 16 event fields present (added within v1:
//	        older records never set them)
//	varint  ReceivedAt seconds since 1970, uvarint nanoseconds (decoded as UTC)
//	str     BinID, Method, Path, Query
//	uvarint header count, then str name, str value per header
//	str     RemoteIP, ContentType
//	varint  BodySize
//	str     Body
//	varint  ResponseStatus, LatencyUS
//	str     Signature.Scheme, Signature.Status, Signature.Reason
//	varint  DeliveryLagMS                     (flag 2)
//	str     Forward.URL, Forward.Mode; varint Forward.Status,
//	        Forward.LatencyUS; str Forward.Error  (flag 4)
//	str     EventType, DeliveryID; varint Attempt; byte 1 + [16]
//	        DuplicateOf or byte 0                    (flag 16)
//	forward detail (flag 32, with flag 4; see forward_record.go)
//	str     RefusedReason; byte 1 + redaction or byte 0, where redaction
//	        is uvarint count + str per header name, uvarint count + str
//	        per body path, byte BodyDropped          (flag 64)
//
// Flag 128 marks a forward update (UpdateEntry): the record carries the
// whole request again, with a later forward outcome, under a fresh Entry.ID.
//
// where str is a uvarint length followed by that many bytes. Trailing bytes
// are an error: a new field means a new flag bit (fields appended after the
// others, so older records decode unchanged) or a new version byte.
const requestV1 = 1

const (
	flagTruncated = 1 << iota
	flagLag
	flagForward
	flagAborted
	flagEvent
	flagForwardDetail
	flagControl
	flagUpdate
	flagsKnown = flagTruncated | flagLag | flagForward | flagAborted | flagEvent | flagForwardDetail | flagControl | flagUpdate
)

// errRecord is what DecodeRequest wraps; it wraps ErrInvalid.
var errRecord = fmt.Errorf("%w: bad request record", ErrInvalid)

// EncodeRequest appends the binary form of r to dst and returns it.
func EncodeRequest(dst []byte, r *schema.Request) ([]byte, error) {
	if r == nil {
		return dst, fmt.Errorf("encode request: nil: %w", ErrInvalid)
	}
	var flags byte
	if r.BodyTruncated {
		flags |= flagTruncated
	}
	if r.DeliveryLagMS != nil {
		flags |= flagLag
	}
	if r.Forward != nil {
		flags |= flagForward
	}
	if r.Aborted {
		flags |= flagAborted
	}
	if r.EventType != "" || r.DeliveryID != "" || r.Attempt != 0 || r.DuplicateOf != nil {
		flags |= flagEvent
	}
	if hasForwardDetail(r.Forward) {
		flags |= flagForwardDetail
	}
	if r.RefusedReason != "" || r.Redacted != nil {
		flags |= flagControl
	}
	dst = append(dst, requestV1)
	dst = append(dst, r.ID[:]...)
	dst = append(dst, flags)
	dst = binary.AppendVarint(dst, r.ReceivedAt.Unix())
	dst = binary.AppendUvarint(dst, uint64(r.ReceivedAt.Nanosecond()))
	dst = appendStr(dst, r.BinID)
	dst = appendStr(dst, r.Method)
	dst = appendStr(dst, r.Path)
	dst = appendStr(dst, r.Query)
	dst = binary.AppendUvarint(dst, uint64(len(r.Headers)))
	for _, h := range r.Headers {
		dst = appendStr(dst, h.Name)
		dst = appendStr(dst, h.Value)
	}
	dst = appendStr(dst, r.RemoteIP)
	dst = appendStr(dst, r.ContentType)
	dst = binary.AppendVarint(dst, r.BodySize)
	dst = binary.AppendUvarint(dst, uint64(len(r.Body)))
	dst = append(dst, r.Body...)
	dst = binary.AppendVarint(dst, int64(r.ResponseStatus))
	dst = binary.AppendVarint(dst, r.LatencyUS)
	dst = appendStr(dst, r.Signature.Scheme)
	dst = appendStr(dst, string(r.Signature.Status))
	dst = appendStr(dst, r.Signature.Reason)
	if r.DeliveryLagMS != nil {
		dst = binary.AppendVarint(dst, *r.DeliveryLagMS)
	}
	if f := r.Forward; f != nil {
		dst = appendStr(dst, f.URL)
		dst = appendStr(dst, f.Mode)
		dst = binary.AppendVarint(dst, int64(f.Status))
		dst = binary.AppendVarint(dst, f.LatencyUS)
		dst = appendStr(dst, f.Error)
	}
	if flags&flagEvent != 0 {
		dst = appendStr(dst, r.EventType)
		dst = appendStr(dst, r.DeliveryID)
		dst = binary.AppendVarint(dst, int64(r.Attempt))
		if r.DuplicateOf != nil {
			dst = append(dst, 1)
			dst = append(dst, r.DuplicateOf[:]...)
		} else {
			dst = append(dst, 0)
		}
	}
	if flags&flagForwardDetail != 0 {
		dst = appendForwardDetail(dst, r.Forward)
	}
	if flags&flagControl != 0 {
		dst = appendStr(dst, r.RefusedReason)
		if rd := r.Redacted; rd != nil {
			dst = append(dst, 1)
			dst = binary.AppendUvarint(dst, uint64(len(rd.Headers)))
			for _, h := range rd.Headers {
				dst = appendStr(dst, h)
			}
			dst = binary.AppendUvarint(dst, uint64(len(rd.BodyPaths)))
			for _, p := range rd.BodyPaths {
				dst = appendStr(dst, p)
			}
			dst = append(dst, boolByte(rd.BodyDropped))
		} else {
			dst = append(dst, 0)
		}
	}
	return dst, nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// DecodeRequest parses what EncodeRequest produced. Errors wrap ErrInvalid.
// The returned request shares no memory with b. Its strings share one
// allocation (a copy of b), so the request costs a handful of allocations
// whatever its number of headers.
func DecodeRequest(b []byte) (*schema.Request, error) {
	d := decoder{s: string(b)}
	r, err := d.request()
	if err != nil {
		return nil, fmt.Errorf("decode request at byte %d of %d: %w", d.off, len(b), err)
	}
	return r, nil
}

// DecodeRequestMeta is DecodeRequest without the body: Body is nil,
// BodySize and BodyTruncated are kept. It is for consumers that read
// metadata only (the alert engine): the body is neither copied nor kept.
// The returned request shares no memory with b.
func DecodeRequestMeta(b []byte) (*schema.Request, error) {
	r, _, err := decodeSpliced(b)
	return r, err
}

// DecodeRequestOwned is DecodeRequest for a caller that hands b over: the
// returned request's Body is b's body bytes in place (capacity clipped, so
// appending to it never writes into b), and its strings share one small
// allocation of the rest. The caller must not modify or reuse b afterwards.
// It saves two copies of every body for consumers that own each record's
// Data (Batch.Records): the store writer and the live feed.
func DecodeRequestOwned(b []byte) (*schema.Request, error) {
	r, body, err := decodeSpliced(b)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		r.Body = body
	}
	return r, nil
}

// decodeSpliced decodes b with its body cut out (one allocation for every
// string but the body) and returns the body as a subslice of b.
func decodeSpliced(b []byte) (*schema.Request, []byte, error) {
	start, body, end, err := bodySpan(b)
	if err != nil {
		return nil, nil, fmt.Errorf("decode request: %w", err)
	}
	var sb strings.Builder
	sb.Grow(len(b) - (end - start) + 1)
	sb.Write(b[:start])
	sb.WriteByte(0) // an empty body
	sb.Write(b[end:])
	d := decoder{s: sb.String()}
	r, err := d.request()
	if err != nil {
		return nil, nil, fmt.Errorf("decode request at byte %d of %d (body cut out): %w", d.off, len(d.s), err)
	}
	return r, b[body:end:end], nil
}

// bodySpan finds the body field in b by walking the fields before it,
// without allocating: its length prefix starts at start, its bytes are
// b[body:end]. A record it accepts may still fail to decode later (the
// fields after the body are checked by request()).
func bodySpan(b []byte) (start, body, end int, err error) {
	if len(b) < 1+16+1 {
		return 0, 0, 0, fmt.Errorf("%w: %w", errRecord, errShort)
	}
	if b[0] != requestV1 {
		return 0, 0, 0, fmt.Errorf("%w: version %d", errRecord, b[0])
	}
	// A view of b for the offsets only: no string of it outlives this call.
	d := decoder{s: unsafe.String(unsafe.SliceData(b), len(b)), off: 18}
	d.varint()
	d.uvarint()
	for range 4 { // BinID, Method, Path, Query
		d.str()
	}
	n := d.uvarint()
	if n > uint64(len(b)-d.off)/2 {
		return 0, 0, 0, fmt.Errorf("%w: %d headers in %d bytes", errRecord, n, len(b)-d.off)
	}
	for range 2 * n {
		d.str()
	}
	d.str() // RemoteIP
	d.str() // ContentType
	d.varint()
	start = d.off
	n = uint64(len(d.str()))
	if d.fail {
		return 0, 0, 0, fmt.Errorf("%w: %w", errRecord, errShort)
	}
	return start, d.off - int(n), d.off, nil
}

type decoder struct {
	s    string // the record; strings are substrings of it
	off  int
	fail bool // a read ran past the end or overflowed
}

var errShort = errors.New("truncated")

func (d *decoder) request() (*schema.Request, error) {
	if len(d.s) < 1+16+1 {
		return nil, fmt.Errorf("%w: %w", errRecord, errShort)
	}
	if d.s[0] != requestV1 {
		return nil, fmt.Errorf("%w: version %d", errRecord, d.s[0])
	}
	r := &schema.Request{}
	copy(r.ID[:], d.s[1:17])
	flags := d.s[17]
	d.off = 18
	if flags&^flagsKnown != 0 {
		return nil, fmt.Errorf("%w: flags %#x", errRecord, flags)
	}
	r.BodyTruncated = flags&flagTruncated != 0
	r.Aborted = flags&flagAborted != 0

	sec := d.varint()
	nsec := d.uvarint()
	if nsec >= uint64(time.Second) {
		return nil, fmt.Errorf("%w: nanoseconds %d", errRecord, nsec)
	}
	r.ReceivedAt = time.Unix(sec, int64(nsec)).UTC()
	r.BinID = d.str()
	r.Method = d.str()
	r.Path = d.str()
	r.Query = d.str()
	n := d.uvarint()
	// Each header takes at least two bytes (two empty strings): a count
	// beyond that is a lie, refused before the slice is allocated.
	if n > uint64(len(d.s)-d.off)/2 {
		return nil, fmt.Errorf("%w: %d headers in %d bytes", errRecord, n, len(d.s)-d.off)
	}
	if n > 0 {
		r.Headers = make([]schema.Header, n)
		for i := range r.Headers {
			r.Headers[i].Name = d.str()
			r.Headers[i].Value = d.str()
		}
	}
	r.RemoteIP = d.str()
	r.ContentType = d.str()
	r.BodySize = d.varint()
	if body := d.str(); len(body) > 0 {
		r.Body = []byte(body)
	}
	r.ResponseStatus = d.int()
	r.LatencyUS = d.varint()
	r.Signature.Scheme = d.str()
	r.Signature.Status = schema.SignatureStatus(d.str())
	r.Signature.Reason = d.str()
	if flags&flagLag != 0 {
		lag := d.varint()
		r.DeliveryLagMS = &lag
	}
	if flags&flagForward != 0 {
		f := &schema.Forward{}
		f.URL = d.str()
		f.Mode = d.str()
		f.Status = d.int()
		f.LatencyUS = d.varint()
		f.Error = d.str()
		r.Forward = f
	}
	if flags&flagEvent != 0 {
		r.EventType = d.str()
		r.DeliveryID = d.str()
		r.Attempt = d.int()
		switch d.str1() {
		case 0:
		case 1:
			if raw := d.bytes(16); len(raw) == 16 {
				var u uuid.UUID
				copy(u[:], raw)
				r.DuplicateOf = &u
			}
		default:
			return nil, fmt.Errorf("%w: duplicate_of marker", errRecord)
		}
	}
	if flags&flagForwardDetail != 0 {
		if r.Forward == nil {
			return nil, fmt.Errorf("%w: forward detail without forward", errRecord)
		}
		if err := d.forwardDetail(r.Forward); err != nil {
			return nil, err
		}
	}
	if flags&flagControl != 0 {
		r.RefusedReason = d.str()
		switch d.str1() {
		case 0:
		case 1:
			rd := &schema.Redaction{}
			rd.Headers = d.strs()
			rd.BodyPaths = d.strs()
			switch d.str1() {
			case 0:
			case 1:
				rd.BodyDropped = true
			default:
				return nil, fmt.Errorf("%w: body_dropped marker", errRecord)
			}
			r.Redacted = rd
		default:
			return nil, fmt.Errorf("%w: redaction marker", errRecord)
		}
	}
	if d.fail {
		return nil, fmt.Errorf("%w: %w", errRecord, errShort)
	}
	if d.off != len(d.s) {
		return nil, fmt.Errorf("%w: %d trailing bytes", errRecord, len(d.s)-d.off)
	}
	return r, nil
}

// The readers below set fail on the first error and then return zero
// values, so request() checks once at the end instead of after every field.

func (d *decoder) uvarint() uint64 {
	if d.fail {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.fail = true
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail = true // overflow
				return 0
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.fail = true
	return 0
}

func (d *decoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *decoder) int() int {
	x := d.varint()
	if int64(int(x)) != x {
		d.fail = true
		return 0
	}
	return int(x)
}

// str1 reads one byte (0 on failure, with fail set).
func (d *decoder) str1() byte {
	if d.fail || d.off >= len(d.s) {
		d.fail = true
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

// bytes reads n raw bytes.
func (d *decoder) bytes(n int) string {
	if d.fail || n > len(d.s)-d.off {
		d.fail = true
		return ""
	}
	s := d.s[d.off : d.off+n]
	d.off += n
	return s
}

// strs reads a uvarint count and that many strings (nil for none); the
// count is checked against the bytes left before allocating.
func (d *decoder) strs() []string {
	n := d.uvarint()
	if d.fail || n == 0 {
		return nil
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail = true
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = d.str()
	}
	return out
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.fail {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail = true
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// RequestEntry builds the log entry of a captured request: key = bin id,
// ID = request id, Data = its binary form appended to buf[:0] (pass a
// pooled buffer to avoid an allocation; Append does not keep it).
func RequestEntry(buf []byte, r *schema.Request) (Entry, error) {
	data, err := EncodeRequest(buf[:0], r)
	if err != nil {
		return Entry{}, err
	}
	return Entry{Key: r.BinID, ID: r.ID, Data: data}, nil
}
