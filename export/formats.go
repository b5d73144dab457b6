package export

import (
	"bufio"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hookscope/hookscope/schema"
	"github.com/hookscope/hookscope/web/wire"
)

// ---- NDJSON: one record per line, the API's full request view ----

type ndjsonEnc struct{ enc *json.Encoder }

func newNDJSON(w io.Writer) *ndjsonEnc {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return &ndjsonEnc{enc: e}
}

func (e *ndjsonEnc) begin() error { return nil }
func (e *ndjsonEnc) end() error   { return nil }

// write encodes wire.Full: json.Encoder ends each value with a newline and
// escapes newlines inside strings, so one record is one line.
func (e *ndjsonEnc) write(r *schema.Request) error { return e.enc.Encode(wire.Full(r)) }

// ---- CSV ----

// CSVColumns is the CSV header, in order. headers is a JSON array of
// [name, value] pairs; body is the stored body as text when it is valid
// UTF-8 (body_encoding utf8), else base64 (body_encoding base64).
var CSVColumns = []string{
	"id", "received_at", "method", "path", "query", "remote_ip", "content_type",
	"body_size", "body_truncated", "aborted", "response_status", "latency_us",
	"signature_scheme", "signature_status", "event_type", "delivery_id", "attempt",
	"duplicate_of", "replay_of", "forward_url", "forward_status", "headers", "body_encoding", "body",
}

type csvEnc struct {
	w   *csv.Writer
	row []string
}

func newCSV(w io.Writer) *csvEnc {
	return &csvEnc{w: csv.NewWriter(w), row: make([]string, len(CSVColumns))}
}

func (e *csvEnc) begin() error { return e.w.Write(CSVColumns) }

func (e *csvEnc) end() error {
	e.w.Flush()
	return e.w.Error()
}

func (e *csvEnc) write(r *schema.Request) error {
	hdr, err := json.Marshal(nonNil(r.Headers))
	if err != nil {
		return err
	}
	enc, body := "utf8", string(r.Body)
	if !utf8.Valid(r.Body) {
		enc, body = "base64", base64.StdEncoding.EncodeToString(r.Body)
	}
	var dup, replayOf, fwdURL, fwdStatus string
	if r.DuplicateOf != nil {
		dup = r.DuplicateOf.String()
	}
	if id := wire.ReplayOf(r); id != nil {
		replayOf = id.String()
	}
	if r.Forward != nil {
		fwdURL, fwdStatus = r.Forward.URL, strconv.Itoa(r.Forward.Status)
	}
	row := e.row
	row[0], row[1], row[2], row[3], row[4] = r.ID.String(), r.ReceivedAt.UTC().Format(time.RFC3339Nano), r.Method, r.Path, r.Query
	row[5], row[6], row[7], row[8], row[9] = r.RemoteIP, r.ContentType, strconv.FormatInt(r.BodySize, 10), strconv.FormatBool(r.BodyTruncated), strconv.FormatBool(r.Aborted)
	row[10], row[11], row[12], row[13], row[14] = strconv.Itoa(r.ResponseStatus), strconv.FormatInt(r.LatencyUS, 10), r.Signature.Scheme, string(r.Signature.Status), r.EventType
	row[15], row[16], row[17], row[18], row[19] = r.DeliveryID, strconv.Itoa(r.Attempt), dup, replayOf, fwdURL
	row[20], row[21], row[22], row[23] = fwdStatus, string(hdr), enc, body
	for i, c := range row {
		row[i] = CSVCell(c)
	}
	if err := e.w.Write(row); err != nil {
		return err
	}
	// csv.Writer buffers into its own bufio.Writer: hand each row on so
	// that the page flush reaches the client.
	e.w.Flush()
	return e.w.Error()
}

// CSVCell defuses formula injection: a spreadsheet runs a cell that starts
// with = + - @ (or a tab or carriage return, which some strip first) as a
// formula, so such a cell gets a leading apostrophe (OWASP's advice).
// Every captured field is attacker-controlled.
func CSVCell(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

func nonNil(h []schema.Header) []schema.Header {
	if h == nil {
		return []schema.Header{}
	}
	return h
}

// ---- HAR 1.2 ----

// HAR types, as far as an export fills them
// (http://www.softwareishard.com/blog/har-12-spec/). Fields starting with
// an underscore are HAR's custom fields: hookscope's own.
type (
	harNV struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	harPost struct {
		MimeType string  `json:"mimeType"`
		Params   []harNV `json:"params"`
		Text     string  `json:"text"`
		Encoding string  `json:"_encoding,omitempty"` // "base64" for a binary body
	}
	harRequest struct {
		Method      string   `json:"method"`
		URL         string   `json:"url"`
		HTTPVersion string   `json:"httpVersion"`
		Cookies     []harNV  `json:"cookies"`
		Headers     []harNV  `json:"headers"`
		QueryString []harNV  `json:"queryString"`
		PostData    *harPost `json:"postData,omitempty"`
		HeadersSize int      `json:"headersSize"`
		BodySize    int64    `json:"bodySize"`
	}
	harContent struct {
		Size     int64  `json:"size"`
		MimeType string `json:"mimeType"`
		Text     string `json:"text,omitempty"`
	}
	harResponse struct {
		Status      int        `json:"status"`
		StatusText  string     `json:"statusText"`
		HTTPVersion string     `json:"httpVersion"`
		Cookies     []harNV    `json:"cookies"`
		Headers     []harNV    `json:"headers"`
		Content     harContent `json:"content"`
		RedirectURL string     `json:"redirectURL"`
		HeadersSize int        `json:"headersSize"`
		BodySize    int64      `json:"bodySize"`
	}
	harTimings struct {
		Send    float64 `json:"send"`
		Wait    float64 `json:"wait"`
		Receive float64 `json:"receive"`
	}
	harEntry struct {
		StartedDateTime string           `json:"startedDateTime"`
		Time            float64          `json:"time"`
		Request         harRequest       `json:"request"`
		Response        harResponse      `json:"response"`
		Cache           struct{}         `json:"cache"`
		Timings         harTimings       `json:"timings"`
		ID              string           `json:"_id"`
		RemoteIP        string           `json:"_remote_ip"`
		Signature       schema.Signature `json:"_signature"`
		EventType       string           `json:"_event_type,omitempty"`
		DeliveryID      string           `json:"_delivery_id,omitempty"`
		ReplayOf        string           `json:"_replay_of,omitempty"`
	}
)

type harEnc struct {
	w     *bufio.Writer
	raw   io.Writer
	m     Meta
	first bool
	resp  harResponse // the bin's answer, shared by every entry
}

func newHAR(w io.Writer, m Meta) *harEnc {
	e := &harEnc{raw: w, m: m, first: true}
	if bw, ok := w.(*bufio.Writer); ok {
		e.w = bw
	} else {
		e.w = bufio.NewWriter(w)
	}
	e.resp = harResponse{HTTPVersion: "HTTP/1.1", Cookies: []harNV{}, Headers: []harNV{}, HeadersSize: -1, BodySize: -1}
	if rc := m.Response; rc != nil {
		for _, h := range rc.Headers {
			e.resp.Headers = append(e.resp.Headers, harNV{h.Name, h.Value})
			if strings.EqualFold(h.Name, "Content-Type") {
				e.resp.Content.MimeType = h.Value
			}
		}
		e.resp.Content.Text = rc.Body
		e.resp.Content.Size = int64(len(rc.Body))
		e.resp.BodySize = int64(len(rc.Body))
	}
	return e
}

func (e *harEnc) begin() error {
	creator, _ := json.Marshal(map[string]string{"name": "hookscope", "version": e.m.Version})
	_, err := e.w.WriteString(`{"log":{"version":"1.2","creator":` + string(creator) + `,"entries":[` + "\n")
	return err
}

func (e *harEnc) end() error {
	if _, err := e.w.WriteString("\n]}}\n"); err != nil {
		return err
	}
	if e.w != e.raw {
		return e.w.Flush()
	}
	return nil
}

func (e *harEnc) write(r *schema.Request) error {
	ms := float64(r.LatencyUS) / 1000
	ent := harEntry{
		StartedDateTime: r.ReceivedAt.UTC().Format(time.RFC3339Nano),
		Time:            ms,
		Request: harRequest{
			Method: r.Method, URL: e.url(r), HTTPVersion: "HTTP/1.1", Cookies: []harNV{},
			Headers: make([]harNV, 0, len(r.Headers)), QueryString: queryString(r.Query),
			HeadersSize: -1, BodySize: r.BodySize,
		},
		Response:   e.resp,
		Timings:    harTimings{Wait: ms},
		ID:         r.ID.String(),
		RemoteIP:   r.RemoteIP,
		Signature:  r.Signature,
		EventType:  r.EventType,
		DeliveryID: r.DeliveryID,
	}
	ent.Response.Status = r.ResponseStatus
	ent.Response.StatusText = http.StatusText(r.ResponseStatus)
	for _, h := range r.Headers {
		ent.Request.Headers = append(ent.Request.Headers, harNV{h.Name, h.Value})
	}
	if len(r.Body) > 0 {
		p := &harPost{MimeType: r.ContentType, Params: []harNV{}, Text: string(r.Body)}
		if !utf8.Valid(r.Body) {
			p.Text, p.Encoding = base64.StdEncoding.EncodeToString(r.Body), "base64"
		}
		ent.Request.PostData = p
	}
	if id := wire.ReplayOf(r); id != nil {
		ent.ReplayOf = id.String()
	}
	b, err := json.Marshal(&ent)
	if err != nil {
		return err
	}
	if !e.first {
		if err := e.w.WriteByte(','); err != nil {
			return err
		}
	}
	e.first = false
	_, err = e.w.Write(b)
	return err
}

func (e *harEnc) url(r *schema.Request) string {
	u := e.m.BinURL
	if r.Path != "/" && r.Path != "" {
		u += r.Path
	}
	if r.Query != "" {
		u += "?" + r.Query
	}
	return u
}

// queryString splits a raw query in order, decoding what decodes (a pair
// that does not is kept raw).
func queryString(raw string) []harNV {
	out := []harNV{}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		out = append(out, harNV{k, v})
	}
	return out
}
