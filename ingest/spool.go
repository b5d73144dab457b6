package ingest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hookscope/hookscope/schema"
)

// Spool is an append-only on-disk queue of request batches, used when the
// store cannot take them. Each batch is one frame: 4-byte length, 4-byte
// CRC-32C, gob payload; each append is fsynced before it returns (appends
// running at once share one fsync: group commit), so a
// request whose append returned survives a crash of hookscope. Frames live in
// numbered segment files; a fully replayed segment is deleted. A torn frame
// at the tail of a segment (crash mid-append) is detected by length/CRC and
// skipped: that append never returned, so nothing answered 2xx is in it.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	// replayBatch: see SpoolOptions.ReplayBatch.
	replayBatch int
	log         *slog.Logger

	mu      sync.Mutex
	active  *os.File
	actSeq  uint64
	actLen  int64
	seqs    []uint64 // every segment on disk, ascending (active last when open)
	written uint64   // frames written so far (under mu)
	// rotatedUpTo: frames made durable by rotateLocked's fsync (under mu).
	rotatedUpTo uint64
	bytes       atomic.Int64

	// Group commit: an append returns once durable >= its frame number.
	// One fsync makes every frame written before it durable, so appends
	// that arrive while a sync runs share the next one instead of queueing
	// for one fsync each (under overload every capture appends one frame).
	syncMu  sync.Mutex
	durable uint64 // frames known to be on disk (under syncMu)
}

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// SpoolOptions configure OpenSpool.
type SpoolOptions struct {
	Logger *slog.Logger
	// MaxBytes is the size past which Full reports true (default 1 GiB).
	MaxBytes int64
	// SegmentBytes rotates the active segment past this size (default 64 MiB).
	SegmentBytes int64
	// ReplayBatch is how many requests Drain hands to its function at once
	// at most (default 5000, the batcher's MaxBatch); frames are merged.
	ReplayBatch int
}

// OpenSpool opens (creating) a spool directory and accounts for what a
// previous run left in it.
func OpenSpool(dir string, opts SpoolOptions) (*Spool, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 1 << 30
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if opts.ReplayBatch <= 0 {
		opts.ReplayBatch = 5000
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create spool dir: %w", err)
	}
	s := &Spool{dir: dir, maxBytes: opts.MaxBytes, segBytes: opts.SegmentBytes, replayBatch: opts.ReplayBatch, log: opts.Logger.With("component", "spool")}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read spool dir: %w", err)
	}
	var total int64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".seg")
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, fmt.Errorf("stat spool segment: %w", err)
		}
		if info.Size() == 0 {
			_ = os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		s.seqs = append(s.seqs, seq)
		total += info.Size()
	}
	slices.Sort(s.seqs)
	if n := len(s.seqs); n > 0 {
		s.actSeq = s.seqs[n-1]
	}
	s.bytes.Store(total)
	return s, nil
}

func (s *Spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d.seg", seq))
}

// Bytes is how much the spool holds on disk.
func (s *Spool) Bytes() int64 { return s.bytes.Load() }

// Empty reports whether nothing is waiting in the spool.
func (s *Spool) Empty() bool { return s.bytes.Load() == 0 }

// Full reports whether the spool reached its size limit; captures are then refused.
func (s *Spool) Full() bool { return s.bytes.Load() >= s.maxBytes }

// Append writes one batch durably (fsync) before returning.
func (s *Spool) Append(batch []*schema.Request) error {
	var buf bytes.Buffer
	buf.Write(make([]byte, 8))
	if err := gob.NewEncoder(&buf).Encode(batch); err != nil {
		return fmt.Errorf("encode spool frame: %w", err)
	}
	frame := buf.Bytes()
	binary.BigEndian.PutUint32(frame[0:4], uint32(len(frame)-8))
	binary.BigEndian.PutUint32(frame[4:8], crc32.Checksum(frame[8:], crcTable))

	s.mu.Lock()
	if s.active == nil || s.actLen >= s.segBytes {
		if err := s.rotateLocked(); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	if _, err := s.active.Write(frame); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("write spool frame: %w", err)
	}
	s.actLen += int64(len(frame))
	s.bytes.Add(int64(len(frame)))
	s.written++
	mine := s.written
	s.mu.Unlock()
	return s.syncUpTo(mine)
}

// syncUpTo returns once frame number n is on disk, running an fsync that
// covers every frame written so far unless another one already covered n.
func (s *Spool) syncUpTo(n uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.durable >= n {
		return nil
	}
	s.mu.Lock()
	f, upto, rotated := s.active, s.written, s.rotatedUpTo
	s.mu.Unlock()
	if rotated >= n {
		return nil // its segment was synced when it was rotated or closed
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			if errors.Is(err, os.ErrClosed) && s.durableAfterRotate(n) {
				return nil // rotation synced and closed it meanwhile
			}
			return fmt.Errorf("sync spool: %w", err)
		}
	}
	s.durable = max(s.durable, upto)
	return nil
}

// durableAfterRotate reports whether a rotation (which fsyncs the segment
// it closes) has made frame n durable.
func (s *Spool) durableAfterRotate(n uint64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotatedUpTo >= n
}

// rotateLocked closes the active segment and opens the next one.
func (s *Spool) rotateLocked() error {
	if s.active != nil {
		// Appends may still be waiting for their group fsync on this file.
		if err := s.active.Sync(); err != nil {
			return fmt.Errorf("sync spool segment: %w", err)
		}
		s.rotatedUpTo = s.written
		if err := s.active.Close(); err != nil {
			return fmt.Errorf("close spool segment: %w", err)
		}
		s.active = nil
	}
	s.actSeq++
	f, err := os.OpenFile(s.segPath(s.actSeq), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	if d, err := os.Open(s.dir); err == nil { // make the new file's name durable
		_ = d.Sync()
		_ = d.Close()
	}
	s.active, s.actLen = f, 0
	s.seqs = append(s.seqs, s.actSeq)
	return nil
}

// Drain replays spooled batches oldest first through fn, deleting each
// segment once all its batches were accepted. It stops at the first error
// of fn (returned) and resumes from the start of that segment next time, so
// fn must be idempotent. It returns how many requests fn accepted.
func (s *Spool) Drain(fn func([]*schema.Request) error) (int, error) {
	total := 0
	// Only what is on disk when Drain starts: appends that keep arriving
	// (overflow under a flood) wait for the next Drain instead of keeping
	// this one, and the batcher's memory queue behind it, going forever.
	s.mu.Lock()
	last := s.actSeq
	s.mu.Unlock()
	for {
		s.mu.Lock()
		if len(s.seqs) == 0 || s.seqs[0] > last {
			s.mu.Unlock()
			return total, nil
		}
		seq := s.seqs[0]
		if s.active != nil && seq == s.actSeq {
			// Seal the active segment so that appends go elsewhere while it is replayed.
			if err := s.rotateLocked(); err != nil {
				s.mu.Unlock()
				return total, err
			}
		}
		s.mu.Unlock()

		n, size, err := s.replaySegment(seq, fn)
		total += n
		if err != nil {
			return total, err
		}
		if err := os.Remove(s.segPath(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return total, fmt.Errorf("remove replayed segment: %w", err)
		}
		s.mu.Lock()
		s.seqs = slices.DeleteFunc(s.seqs, func(v uint64) bool { return v == seq })
		if len(s.seqs) == 1 && s.active != nil && s.actLen == 0 && s.seqs[0] == s.actSeq {
			// Only an empty active segment is left: the spool is empty.
			_ = s.active.Close()
			_ = os.Remove(s.segPath(s.actSeq))
			s.active, s.seqs = nil, s.seqs[:0]
		}
		s.mu.Unlock()
		s.bytes.Add(-size)
	}
}

func (s *Spool) replaySegment(seq uint64, fn func([]*schema.Request) error) (int, int64, error) {
	f, err := os.Open(s.segPath(seq))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("open spool segment: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("stat spool segment: %w", err)
	}
	rd := bufio.NewReaderSize(f, 1<<20)
	n := 0
	// Frames are handed to fn in batches of up to s.replayBatch requests
	// (replayBytes of bodies): an overflowed capture is a frame of one
	// request, and one store transaction per request would make the
	// replay far slower than the capture that filled the spool.
	var pending []*schema.Request
	var pendingBytes int
	deliver := func() error {
		if len(pending) == 0 {
			return nil
		}
		if err := fn(pending); err != nil {
			return err
		}
		n += len(pending)
		pending, pendingBytes = nil, 0
		return nil
	}
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				s.log.Warn("torn frame header at spool segment tail; skipped", "segment", seq)
			}
			if err := deliver(); err != nil {
				return n, 0, err
			}
			return n, info.Size(), nil
		}
		size := binary.BigEndian.Uint32(hdr[0:4])
		payload := make([]byte, size)
		if _, err := io.ReadFull(rd, payload); err != nil || crc32.Checksum(payload, crcTable) != binary.BigEndian.Uint32(hdr[4:8]) {
			s.log.Warn("torn or corrupt frame in spool segment; rest of segment skipped", "segment", seq)
			if err := deliver(); err != nil {
				return n, 0, err
			}
			return n, info.Size(), nil
		}
		var batch []*schema.Request
		if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&batch); err != nil {
			s.log.Error("undecodable spool frame skipped", "segment", seq, "err", err)
			continue
		}
		pending = append(pending, batch...)
		for _, r := range batch {
			pendingBytes += len(r.Body)
		}
		if len(pending) >= s.replayBatch || pendingBytes >= replayBytes {
			if err := deliver(); err != nil {
				return n, 0, err
			}
		}
	}
}

// replayBytes caps the bodies one replayed batch holds in memory.
const replayBytes = 16 << 20

// Close closes the active segment; its content stays for the next start.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active == nil {
		return nil
	}
	err := s.active.Sync()
	if err == nil {
		s.rotatedUpTo = s.written
	}
	err = errors.Join(err, s.active.Close())
	s.active = nil
	return err
}
