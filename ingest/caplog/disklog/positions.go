package disklog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/hookscope/hookscope/ingest/caplog"
)

// The positions file: {"version":1,"positions":{"store":1234,...}}, replaced
// atomically (write positions.tmp, fdatasync, rename, fsync the directory),
// so a crash leaves either the old or the new file, never a mix.
const positionsFile = "positions"

type positionsDoc struct {
	Version   int               `json:"version"`
	Positions map[string]uint64 `json:"positions"`
}

// maxPositionsFile bounds what loadPositions reads: a few bytes per consumer.
const maxPositionsFile = 1 << 20

func (l *Log) loadPositions() error {
	l.saved, l.positions = map[string]uint64{}, map[string]uint64{}
	path := filepath.Join(l.dir, positionsFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return unavailable("open positions", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPositionsFile+1))
	if err != nil {
		return unavailable("read positions", err)
	}
	var doc positionsDoc
	if len(b) > maxPositionsFile || json.Unmarshal(b, &doc) != nil || doc.Version != 1 || !validNames(doc.Positions) {
		// Cannot happen through a crash (the file is replaced by rename),
		// only through outside damage. Starting every consumer afresh is
		// safe: nothing is deleted until consumers are known again, and
		// stores dedupe what is delivered twice.
		aside := fmt.Sprintf("%s.damaged-%d", path, time.Now().Unix())
		l.log.Error("positions file damaged: consumers start afresh", "moved_to", aside)
		if err := os.Rename(path, aside); err != nil {
			return unavailable("move damaged positions aside", err)
		}
		return nil
	}
	l.saved = doc.Positions
	if l.saved == nil {
		l.saved = map[string]uint64{}
	}
	l.positions = maps.Clone(l.saved)
	return nil
}

func validNames(m map[string]uint64) bool {
	for k := range m {
		if !caplog.ValidKey(k) {
			return false
		}
	}
	return true
}

// persistPositions writes the in-memory positions if they changed since the
// last write. Concurrent callers share one write when they can.
func (l *Log) persistPositions() error {
	l.pmu.Lock()
	defer l.pmu.Unlock()
	l.mu.Lock()
	gen, snap := l.posGen, maps.Clone(l.positions)
	l.mu.Unlock()
	if gen == l.savedGen {
		return nil
	}
	data, err := json.Marshal(positionsDoc{Version: 1, Positions: snap})
	if err != nil {
		return fmt.Errorf("encode positions: %w", err)
	}
	tmp := filepath.Join(l.dir, positionsFile+".tmp")
	if err := writeSynced(tmp, data); err != nil {
		_ = os.Remove(tmp)
		return unavailable("write positions", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, positionsFile)); err != nil {
		return unavailable("replace positions", err)
	}
	if err := syncDir(l.dir); err != nil {
		return unavailable("sync log directory", err)
	}
	l.savedGen = gen
	l.mu.Lock()
	l.saved = snap
	l.retainLocked(0)
	l.mu.Unlock()
	return nil
}

func writeSynced(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
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
