package disklog

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
)

// The positions file holds two fixed-size slots, written in place in turn:
//
//	u32 magic "HCP1" | u64 generation | u32 length | u32 CRC-32C of
//	generation, length and document | document (JSON {"name": position})
//
// A write goes to the slot that does not hold the newest generation and is
// fdatasynced; a torn write damages only that slot, so the other still holds
// the previous positions. Writing in place into blocks allocated when the
// file was created needs no free space: consumers can still commit (and so
// let retention free segments) when the disk is full.
const (
	positionsFile  = "positions"
	positionsMagic = 0x31504348 // "HCP1"
	slotSize       = 32 << 10
	slotHeader     = 4 + 8 + 4 + 4
)

func (l *Log) loadPositions() error {
	l.saved, l.positions = map[string]uint64{}, map[string]uint64{}
	path := filepath.Join(l.dir, positionsFile)
	b, err := readBounded(path, 2*slotSize)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return unavailable("read positions", err)
	}
	if err == nil {
		doc, gen, ok := newestSlot(b)
		if !ok {
			// Both slots damaged: not something a crash does (one slot is
			// written at a time), only outside damage. Starting every
			// consumer afresh is safe: nothing is deleted until consumers
			// are known again, and stores dedupe what comes twice.
			aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
			l.log.Error("positions file damaged: consumers start afresh", "moved_to", aside)
			if err := os.Rename(path, aside); err != nil {
				return unavailable("move damaged positions aside", err)
			}
		} else {
			l.saved, l.savedSlotGen = doc, gen
			l.positions = maps.Clone(doc)
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		f, err = createPositions(l.dir, path)
	}
	if err != nil {
		return unavailable("open positions", err)
	}
	l.posFile = f
	return nil
}

func readBounded(path string, n int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, n))
}

// createPositions makes an empty two-slot file, allocated and synced.
func createPositions(dir, path string) (*os.File, error) {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, make([]byte, 2*slotSize)); err != nil {
		_ = os.Remove(tmp)
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return os.OpenFile(path, os.O_RDWR, 0)
}

// newestSlot decodes both slots and returns the valid one with the higher
// generation.
func newestSlot(b []byte) (map[string]uint64, uint64, bool) {
	var best map[string]uint64
	var bestGen uint64
	found := false
	for i := 0; i < 2; i++ {
		if len(b) < (i+1)*slotSize {
			break
		}
		doc, gen, ok := decodeSlot(b[i*slotSize : (i+1)*slotSize])
		if ok && (!found || gen > bestGen) {
			best, bestGen, found = doc, gen, true
		}
	}
	return best, bestGen, found
}

func decodeSlot(s []byte) (map[string]uint64, uint64, bool) {
	if binary.LittleEndian.Uint32(s) != positionsMagic {
		return nil, 0, false
	}
	gen := binary.LittleEndian.Uint64(s[4:])
	n := binary.LittleEndian.Uint32(s[12:])
	if n > slotSize-slotHeader {
		return nil, 0, false
	}
	body := s[slotHeader : slotHeader+int(n)]
	crc := crc32.Update(crc32.Update(0, castagnoli, s[4:16]), castagnoli, body)
	if crc != binary.LittleEndian.Uint32(s[16:]) {
		return nil, 0, false
	}
	var doc map[string]uint64
	if json.Unmarshal(body, &doc) != nil {
		return nil, 0, false
	}
	for k := range doc {
		if !caplog.ValidKey(k) {
			return nil, 0, false
		}
	}
	if doc == nil {
		doc = map[string]uint64{}
	}
	return doc, gen, true
}

func encodeSlot(gen uint64, doc map[string]uint64) ([]byte, error) {
	body, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	if len(body) > slotSize-slotHeader {
		return nil, fmt.Errorf("%d consumers do not fit the positions file: %w", len(doc), caplog.ErrInvalid)
	}
	s := make([]byte, slotHeader, slotHeader+len(body))
	binary.LittleEndian.PutUint32(s, positionsMagic)
	binary.LittleEndian.PutUint64(s[4:], gen)
	binary.LittleEndian.PutUint32(s[12:], uint32(len(body)))
	s = append(s, body...)
	binary.LittleEndian.PutUint32(s[16:], crc32.Update(crc32.Update(0, castagnoli, s[4:16]), castagnoli, body))
	return s, nil
}

// persistPositions writes the in-memory positions if they changed since the
// last write. Concurrent callers share one write when they can.
func (l *Log) persistPositions() error {
	l.pmu.Lock()
	defer l.pmu.Unlock()
	l.mu.Lock()
	gen, snap, closed := l.posGen, maps.Clone(l.positions), l.closed
	l.mu.Unlock()
	if gen == l.savedGen {
		return nil
	}
	if closed {
		return fmt.Errorf("write positions: %w", caplog.ErrClosed)
	}
	slotGen := l.savedSlotGen + 1
	s, err := encodeSlot(slotGen, snap)
	if err != nil {
		return fmt.Errorf("encode positions: %w", err)
	}
	if _, err := l.posFile.WriteAt(s, int64(slotGen%2)*slotSize); err != nil {
		return unavailable("write positions", err)
	}
	if err := fdatasync(l.posFile); err != nil {
		return unavailable("sync positions", err)
	}
	l.savedGen, l.savedSlotGen = gen, slotGen
	l.mu.Lock()
	l.saved = snap
	l.retainLocked(0)
	l.mu.Unlock()
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := fdatasync(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
