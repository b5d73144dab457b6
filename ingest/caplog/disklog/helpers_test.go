package disklog

import (
	"hash/crc32"
	"io"
	"log/slog"
)

func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// crcHeader recomputes a frame header's checksum (to forge test frames).
func crcHeader(seed uint32, f []byte) uint32 { return crc32.Update(seed, castagnoli, f[:28]) }
