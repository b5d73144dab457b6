package disklog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/ingest/caplog"
)

// On-disk format (README.md has the full description).
//
// A segment file starts with a 16-byte header: the magic "hscaplg1" and the
// log's salt (8 random bytes chosen when the log was created, the same in
// every segment). Frames follow back to back:
//
//	0  u32 magic  "HCF1"
//	4  u32 payload length (bounded by Options.MaxRecordBytes + key + id)
//	8  u64 sequence (the record's Position)
//	16 i64 append time, Unix nanoseconds
//	24 u32 CRC-32C of the payload, seeded with the salt
//	28 u32 CRC-32C of bytes 0..28, seeded with the salt
//	32 payload: u8 key length, key, 16-byte id, data
//
// Integers are little-endian. The header has its own checksum so that a
// reader can tell a damaged payload (skip exactly that frame) from a damaged
// header (search forward for the next valid header). The salt makes frames
// unforgeable from the outside: a captured body that contains bytes shaped
// like a frame cannot pass the checksum, because its sender never learns
// the salt, so a resync can never land on attacker-made "records".
const (
	segMagic       = "hscaplg1"
	segHeaderLen   = 16
	frameHeaderLen = 32
	frameMagic     = 0x31464348 // "HCF1" little-endian
	// minPayload: key length byte, 1-byte key, id.
	minPayload = 1 + 1 + 16
)

var (
	castagnoli     = crc32.MakeTable(crc32.Castagnoli)
	frameMagicLE   = binary.LittleEndian.AppendUint32(nil, frameMagic)
	errShort       = errors.New("short frame")
	errBadHeader   = errors.New("bad frame header")
	errBadPayload  = errors.New("bad frame payload")
	errNoMoreFrame = errors.New("no valid frame before the end")
)

// seedOf turns the salt into the CRC seed every checksum of the log starts
// from.
func seedOf(salt []byte) uint32 { return crc32.Update(0, castagnoli, salt) }

func payloadLen(e *caplog.Entry) int { return 1 + len(e.Key) + 16 + len(e.Data) }

// appendFrame encodes one record onto dst.
func appendFrame(dst []byte, seed uint32, seq uint64, nanos int64, e *caplog.Entry) []byte {
	start := len(dst)
	var hdr [frameHeaderLen]byte
	dst = append(dst, hdr[:]...)
	dst = append(dst, byte(len(e.Key)))
	dst = append(dst, e.Key...)
	dst = append(dst, e.ID[:]...)
	dst = append(dst, e.Data...)
	h := dst[start : start+frameHeaderLen]
	binary.LittleEndian.PutUint32(h[0:], frameMagic)
	binary.LittleEndian.PutUint32(h[4:], uint32(len(dst)-start-frameHeaderLen))
	binary.LittleEndian.PutUint64(h[8:], seq)
	binary.LittleEndian.PutUint64(h[16:], uint64(nanos))
	binary.LittleEndian.PutUint32(h[24:], crc32.Update(seed, castagnoli, dst[start+frameHeaderLen:]))
	binary.LittleEndian.PutUint32(h[28:], crc32.Update(seed, castagnoli, h[:28]))
	return dst
}

// frame is a decoded frame; key and data alias the input.
type frame struct {
	seq   uint64
	nanos int64
	key   []byte
	id    uuid.UUID
	data  []byte
}

// headerLen validates a frame header and returns its payload length.
func headerLen(b []byte, seed uint32, maxPayload int) (int, bool) {
	if len(b) < frameHeaderLen || binary.LittleEndian.Uint32(b) != frameMagic {
		return 0, false
	}
	if crc32.Update(seed, castagnoli, b[:28]) != binary.LittleEndian.Uint32(b[28:]) {
		return 0, false
	}
	n := binary.LittleEndian.Uint32(b[4:])
	if n < minPayload || uint64(n) > uint64(maxPayload) {
		// A length beyond the bound is corruption, never an allocation.
		return 0, false
	}
	return int(n), true
}

// decodeFrame decodes the frame at the start of b. It returns the frame and
// its size, or: errShort (b ends before the frame does: a torn frame, or
// more bytes needed), errBadHeader (b does not start with a valid header;
// size 0), errBadPayload (valid header, damaged payload; size is the whole
// frame, so the caller can skip exactly it).
func decodeFrame(b []byte, seed uint32, maxPayload int) (frame, int, error) {
	if len(b) < frameHeaderLen {
		if len(b) >= 4 && binary.LittleEndian.Uint32(b) != frameMagic {
			return frame{}, 0, errBadHeader
		}
		return frame{}, 0, errShort
	}
	n, ok := headerLen(b, seed, maxPayload)
	if !ok {
		return frame{}, 0, errBadHeader
	}
	size := frameHeaderLen + n
	if len(b) < size {
		return frame{}, 0, errShort
	}
	p := b[frameHeaderLen:size]
	if crc32.Update(seed, castagnoli, p) != binary.LittleEndian.Uint32(b[24:]) {
		return frame{}, size, errBadPayload
	}
	kl := int(p[0])
	if kl == 0 || kl > caplog.MaxKeyLen || len(p) < 1+kl+16 {
		return frame{}, size, errBadPayload
	}
	f := frame{
		seq:   binary.LittleEndian.Uint64(b[8:]),
		nanos: int64(binary.LittleEndian.Uint64(b[16:])),
		key:   p[1 : 1+kl],
		data:  p[1+kl+16:],
	}
	copy(f.id[:], p[1+kl:])
	if !caplog.ValidKey(string(f.key)) {
		return frame{}, size, errBadPayload
	}
	return f, size, nil
}

// scanner reads the frames of one segment file sequentially from pos up to
// end through a bounded window, skipping damaged frames. It is used by the
// open-time check and by every cursor.
type scanner struct {
	r          io.ReaderAt
	seed       uint32
	maxPayload int
	pos        int64 // offset of the next frame
	end        int64 // readable end (exclusive)
	buf        []byte
	bufOff     int64 // file offset of buf[0]
	// corrupt is told about every skipped region [off, off+n).
	corrupt func(off, n int64, cause error)
}

// readChunk is how much a scanner reads at once.
const readChunk = 256 << 10

// window returns the bytes from pos on, at least n of them unless end comes
// first, reading more from the file when needed.
func (s *scanner) window(n int) ([]byte, error) {
	if s.pos < s.bufOff || s.pos > s.bufOff+int64(len(s.buf)) {
		s.buf, s.bufOff = s.buf[:0], s.pos
	}
	start := int(s.pos - s.bufOff)
	have := len(s.buf) - start
	avail := s.end - s.pos
	if int64(have) >= avail || have >= n {
		return s.buf[start:min(len(s.buf), start+int(max(0, avail)))], nil
	}
	want := int(min(int64(max(n, readChunk)), avail))
	copy(s.buf, s.buf[start:])
	s.buf, s.bufOff = s.buf[:have], s.pos
	if cap(s.buf) < want {
		nb := make([]byte, have, want)
		copy(nb, s.buf)
		s.buf = nb
	}
	m, err := s.r.ReadAt(s.buf[have:want], s.pos+int64(have))
	s.buf = s.buf[:have+m]
	if m < want-have {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF // the file is shorter than its published size
		}
		return s.buf, err
	}
	return s.buf, nil
}

// next returns the next valid frame (key and data alias the scanner's
// buffer until the next call), io.EOF at end, errNoMoreFrame when the bytes
// from pos to end hold no valid frame (a torn tail: pos is left at its
// start), or a read error.
func (s *scanner) next() (frame, error) {
	for {
		if s.pos >= s.end {
			return frame{}, io.EOF
		}
		w, err := s.window(frameHeaderLen)
		if err != nil {
			return frame{}, err
		}
		if n, ok := headerLen(w, s.seed, s.maxPayload); ok {
			w, err = s.window(frameHeaderLen + n)
			if err != nil {
				return frame{}, err
			}
			f, size, err := decodeFrame(w, s.seed, s.maxPayload)
			switch err {
			case nil:
				s.pos += int64(size)
				return f, nil
			case errBadPayload:
				s.skip(int64(size), err)
				continue
			}
			// errShort: the frame runs past end. Either a torn tail or
			// a damaged length that happens to pass the header check
			// (only 2^-32 likely): look for a later frame.
		}
		next, err := s.resync()
		if err != nil {
			return frame{}, err
		}
		if next < 0 {
			return frame{}, errNoMoreFrame
		}
		s.skip(next-s.pos, errBadHeader)
	}
}

func (s *scanner) skip(n int64, cause error) {
	if s.corrupt != nil {
		s.corrupt(s.pos, n, cause)
	}
	s.pos += n
}

// resync finds the offset of the next valid frame header after pos
// (-1 when none before end), leaving pos where it was.
func (s *scanner) resync() (int64, error) {
	orig := s.pos
	defer func() { s.pos = orig }()
	s.pos++
	for s.pos+frameHeaderLen <= s.end {
		w, err := s.window(readChunk)
		if err != nil {
			return -1, err
		}
		i := 0
		for {
			j := bytes.Index(w[i:], frameMagicLE)
			if j < 0 {
				break
			}
			i += j
			if len(w)-i < frameHeaderLen {
				break // a candidate cut by the window: continue from it
			}
			if _, ok := headerLen(w[i:], s.seed, s.maxPayload); ok {
				return s.pos + int64(i), nil
			}
			i++
		}
		// Keep the last header-length-1 bytes: a header may straddle.
		adv := int64(len(w) - (frameHeaderLen - 1))
		if adv <= 0 {
			adv = 1
		}
		s.pos += adv
	}
	return -1, nil
}
