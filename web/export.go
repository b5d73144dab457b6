package web

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/hookscope/hookscope/export"
	"github.com/hookscope/hookscope/query"
)

// exportParams: the list's filters (without paging) and the format.
var exportParams = append(append([]string{"format"}, query.MatchParams...), "forward")

const (
	// exportTimeout bounds one export's store reads.
	exportTimeout = 2 * time.Hour
	// exportWriteWindow is how long the client may take to read one page:
	// the connection's write deadline (the server's WriteTimeout, set once
	// for a whole response) is pushed this far after every page, so a long
	// export is bounded per page, not in total.
	exportWriteWindow = 60 * time.Second
)

// exportRequests answers GET /api/v1/bins/{bin}/export?format=ndjson|har|csv
// with the list's filters: the whole matching set, streamed page by page
// (export.Write) in constant memory. Headers go out before the first row,
// so a store failure half-way cannot change the status: the stream then
// ends with an in-band marker (an {"error": ...} line in NDJSON, a row
// starting "#error" in CSV) or, in HAR, as invalid JSON.
func (s *Server) exportRequests(c *fiber.Ctx) error {
	b, _, err := s.loadBin(c, ScopeRead)
	if err != nil {
		return err
	}
	format, err := export.ParseFormat(c.Query("format"))
	if err != nil {
		return &query.ParamError{Param: "format", Msg: err.Error()}
	}
	// Fiber's strings alias fasthttp's request buffer, which is reused once
	// this handler returns, and the stream writer runs after that: parse
	// the filters from copies.
	vals := map[string]string{}
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { vals[string(k)] = string(v) })
	get := func(k string) string { return vals[k] }
	f, err := query.ParseLiveFilter(b.ID, get)
	if err != nil {
		return err
	}
	if f.Forward, err = query.ParseForwardState(get); err != nil {
		return err
	}
	meta := export.Meta{BinURL: s.binURL(c, b.ID), Response: b.Settings.Response}
	c.Set("Content-Type", format.ContentType())
	c.Set("Content-Disposition", `attachment; filename="`+export.Filename(b.ID, s.opts.Now(), format)+`"`)
	c.Set("Cache-Control", "no-store")
	conn := c.Context().Conn()
	store, log, binID, streams := s.deps.Store, s.log, b.ID, s.streams
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		// Not the request's context: the handler has returned. Shutdown
		// ends it (the export stops at its next page, with the marker).
		ctx, cancel := context.WithTimeout(streams, exportTimeout)
		defer cancel()
		extend := func(int64) {
			if conn != nil {
				_ = conn.SetWriteDeadline(time.Now().Add(exportWriteWindow))
			}
		}
		extend(0)
		n, err := export.Write(ctx, w, store, f, format, meta, export.Options{AfterPage: extend})
		if err != nil {
			log.Warn("export stopped", "bin", binID, "format", string(format), "rows", n, "err", err)
			writeExportError(w, format)
			return
		}
		log.Debug("export done", "bin", binID, "format", string(format), "rows", n)
	})
	return nil
}

// writeExportError ends a broken export so that a reader can tell it from
// a complete one (a fixed message: internals are in the log).
func writeExportError(w *bufio.Writer, f export.Format) {
	const msg = "export stopped before the end; see the server log"
	switch f {
	case export.NDJSON:
		fmt.Fprintf(w, "{\"error\":%q}\n", msg)
	case export.CSV:
		fmt.Fprintf(w, "\n#error,%s\n", msg)
	}
	_ = w.Flush()
}
