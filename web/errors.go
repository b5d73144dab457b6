package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/hookscope/hookscope/bins"
	"github.com/hookscope/hookscope/ingest"
	"github.com/hookscope/hookscope/query"
	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/schema/search"
	"github.com/hookscope/hookscope/web/wire"
)

// apiError is an error with a public message and a status, for what only
// the HTTP layer knows (401/403, 404 of a route, 426, 501).
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, a ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, a...)}
}

// mapError is the ONE place where an error becomes an HTTP status and a
// public message. Handlers return errors (sentinels of schema, ingest and
// bins wrapped with %w, *bins.FieldError, *query.ParamError, apiError);
// Fiber's error handler and the capture path both come here. Messages of
// 5xx are fixed: internals go to the log only.
func mapError(err error) (status int, msg string) {
	var (
		ae *apiError
		fe *bins.FieldError
		pe *query.ParamError
		fb *fiber.Error
		qe *quotaError
		ie *ingest.InputError
		se *search.SyntaxError
		ve *ingest.NotVerifiableError
	)
	switch {
	case errors.As(err, &qe):
		return 429, qe.msg
	case errors.As(err, &ie):
		return 400, ie.Error()
	case errors.As(err, &ve):
		return 409, ve.Error()
	case errors.Is(err, ingest.ErrUnknownBin):
		return 404, "bin not found"
	case errors.Is(err, ingest.ErrForwardingDisabled):
		return 501, "forwarding is not enabled on this server"
	case errors.Is(err, ingest.ErrRetrying):
		return 409, ingest.ErrRetrying.Error()
	case errors.As(err, &ae):
		return ae.status, ae.msg
	case errors.As(err, &fe):
		return 400, fe.Error()
	case errors.As(err, &pe):
		return 400, pe.Error()
	case errors.As(err, &se):
		// A store's own parse of Filter.Q (the API parses q first).
		return 400, (&query.ParamError{Param: "q", Msg: se.Error()}).Error()
	case errors.As(err, &fb):
		return fb.Code, fb.Message
	case errors.Is(err, schema.ErrNotFound):
		return 404, "not found"
	case errors.Is(err, schema.ErrConflict):
		return 409, "already exists"
	case errors.Is(err, schema.ErrInvalid):
		// Services that wrap ErrInvalid as "%w: field: why" (alerts) write
		// the text after the sentinel for API users.
		if m, ok := strings.CutPrefix(err.Error(), schema.ErrInvalid.Error()+": "); ok && m != "" {
			return 400, m
		}
		return 400, "invalid request"
	case errors.Is(err, schema.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return 503, "storage unavailable; retry later"
	}
	return 500, "internal error"
}

// handleError is Fiber's error handler: every API error goes through
// mapError.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status, msg := mapError(err)
	var qe *quotaError
	if errors.As(err, &qe) {
		c.Set("Retry-After", retryAfter(qe.retry))
		return c.Status(status).JSON(wire.Error{Error: msg, Limit: qe.limit})
	}
	if status >= 500 {
		s.log.Error("request failed", "method", c.Method(), "path", c.Path(), "err", err)
	}
	return c.Status(status).JSON(wire.Error{Error: msg})
}

// writeError answers a request on the raw fasthttp path (capture, limits)
// through mapError, with the same body as the API's errors.
func writeError(ctx *fasthttp.RequestCtx, err error) {
	status, msg := mapError(err)
	b, _ := json.Marshal(wire.Error{Error: msg}) // a struct of one string cannot fail
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// writeJSONError is writeError for a status and message decided on the
// capture path.
func writeJSONError(ctx *fasthttp.RequestCtx, status int, msg string) {
	writeError(ctx, errorf(status, "%s", msg))
}
