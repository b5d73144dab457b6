package ingest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hookscope/hookscope/ingest/caplog"
	"github.com/hookscope/hookscope/schema"
)

// MigrateSpool moves what an older hookscope left in its spool directory
// (numbered *.seg files of frames: 4-byte big-endian length, 4-byte
// CRC-32C, a gob-encoded []*schema.Request) into the capture log, then
// removes the directory. The spool only ever held answered requests the
// store had not taken; the store writer now takes them from the log (ids
// make a request the store already has a no-op). A torn or corrupt frame
// ends its segment, as the spool's own replay did. It returns how many
// requests were moved; a missing directory is not an error.
func MigrateSpool(ctx context.Context, dir string, l caplog.Appender, log *slog.Logger) (int, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read spool: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var segs []string
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".seg") {
			segs = append(segs, e.Name())
		}
	}
	slices.Sort(segs) // zero-padded sequence numbers: name order is age order
	total := 0
	for _, name := range segs {
		n, err := migrateSegment(ctx, filepath.Join(dir, name), l, log)
		total += n
		if err != nil {
			return total, fmt.Errorf("migrate spool segment %s: %w", name, err)
		}
	}
	if err := os.RemoveAll(dir); err != nil {
		return total, fmt.Errorf("remove migrated spool: %w", err)
	}
	return total, nil
}

// maxSpoolFrame bounds one frame read from an old spool.
const maxSpoolFrame = 1 << 30

func migrateSegment(ctx context.Context, path string, l caplog.Appender, log *slog.Logger) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rd := bufio.NewReader(f)
	crc := crc32.MakeTable(crc32.Castagnoli)
	n := 0
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(rd, hdr[:]); err != nil {
			if !errors.Is(err, io.EOF) {
				log.Warn("torn frame header at spool segment tail; skipped", "segment", path)
			}
			return n, nil
		}
		size := binary.BigEndian.Uint32(hdr[0:4])
		if size > maxSpoolFrame {
			log.Warn("corrupt spool frame length; rest of segment skipped", "segment", path)
			return n, nil
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(rd, payload); err != nil || crc32.Checksum(payload, crc) != binary.BigEndian.Uint32(hdr[4:8]) {
			log.Warn("torn or corrupt spool frame; rest of segment skipped", "segment", path)
			return n, nil
		}
		var batch []*schema.Request
		if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&batch); err != nil {
			log.Error("undecodable spool frame skipped", "segment", path, "err", err)
			continue
		}
		entries := make([]caplog.Entry, 0, len(batch))
		for _, r := range batch {
			e, err := caplog.RequestEntry(nil, r)
			if err != nil {
				log.Error("spooled request skipped", "request_id", r.ID, "err", err)
				continue
			}
			entries = append(entries, e)
		}
		if err := l.Append(ctx, entries...); err != nil {
			return n, err
		}
		n += len(entries)
	}
}
