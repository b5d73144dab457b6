package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/hookscope/hookscope/schema"
)

func journalReq(i int) *schema.Request {
	return &schema.Request{
		ID: uuid.Must(uuid.NewV7()), BinID: "b", ReceivedAt: schema.Truncate(time.Now()),
		Method: "POST", Path: "/p", Headers: []schema.Header{{Name: "X-N", Value: string(rune('a' + i))}},
		Body: []byte{0, 0xff, byte(i), '\n'}, BodySize: 4, ResponseStatus: 200,
		Forward: &schema.Forward{URL: "http://target", Mode: "async"},
	}
}

func TestJournalRecoversInFlight(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, rec, err := OpenJournal(path, JournalOptions{})
	if err != nil || len(rec) != 0 {
		t.Fatalf("fresh journal: %v %v", rec, err)
	}
	reqs := []*schema.Request{journalReq(0), journalReq(1), journalReq(2)}
	for _, r := range reqs {
		if err := j.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Done(reqs[1].ID); err != nil {
		t.Fatal(err)
	}
	// A crash: no Close; and a line torn in the middle.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"op":"add","id":"`)
	f.Close()

	j2, rec, err := OpenJournal(path, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 || rec[0].ID != reqs[0].ID || rec[1].ID != reqs[2].ID {
		t.Fatalf("recovered %d records", len(rec))
	}
	for i, r := range rec {
		want := reqs[[]int{0, 2}[i]]
		if !bytes.Equal(r.Body, want.Body) || r.Headers[0] != want.Headers[0] || !r.ReceivedAt.Equal(want.ReceivedAt) {
			t.Errorf("record %d differs: %+v", i, r)
		}
		if r.Forward == nil || r.Forward.Error != JournalInterrupted || r.Forward.URL != "http://target" {
			t.Errorf("record %d forward %+v", i, r.Forward)
		}
	}
	// Until marked done they are recovered again.
	if j2.Pending() != 2 {
		t.Fatalf("pending %d", j2.Pending())
	}
	for _, r := range rec {
		if err := j2.Done(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() != 0 {
		t.Fatalf("journal with nothing in flight: %v %v", fi.Size(), err)
	}
	j2.Close()
	j.Close()
	if _, rec, _ := OpenJournal(path, JournalOptions{}); len(rec) != 0 {
		t.Fatalf("recovered %d after all done", len(rec))
	}
}

func TestJournalCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, _, err := OpenJournal(path, JournalOptions{MaxBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	keep := journalReq(99)
	if err := j.Add(keep); err != nil { // stays in flight throughout
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		r := journalReq(i)
		if err := j.Add(r); err != nil {
			t.Fatal(err)
		}
		if err := j.Done(r.ID); err != nil {
			t.Fatal(err)
		}
	}
	fi, _ := os.Stat(path)
	if fi.Size() > 8192 {
		t.Fatalf("journal grew to %d bytes with one record in flight", fi.Size())
	}
	_, rec, err := OpenJournal(path, JournalOptions{})
	if err != nil || len(rec) != 1 || rec[0].ID != keep.ID {
		t.Fatalf("recovered %v %v", rec, err)
	}
}

// TestJournalKeepsRetrySchedule: an entry whose forward retries is not
// recovered as interrupted but handed back for retrying, with its attempts,
// next attempt time and update marker; a plain one is recovered as before.
func TestJournalKeepsRetrySchedule(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, _, err := OpenJournal(path, JournalOptions{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	plain, retried := journalReq(0), journalReq(1)
	next := schema.Truncate(time.Now().Add(time.Minute))
	retried.Forward = &schema.Forward{URL: "http://target", Mode: "async", Status: 500, State: schema.ForwardRetrying, NextAt: &next,
		Attempts: []schema.ForwardAttempt{{At: schema.Truncate(time.Now()), Status: 500}}}
	cfg := &schema.ForwardConfig{URL: "http://target", Retry: &schema.RetryConfig{MaxAttempts: 3}}
	if err := j.put(journalEntry{req: plain, cfg: &schema.ForwardConfig{URL: "http://target"}}); err != nil {
		t.Fatal(err)
	}
	if err := j.put(journalEntry{req: retried, cfg: cfg, upsert: true}); err != nil {
		t.Fatal(err)
	}
	// A crash: no Close.
	j2, rec, err := OpenJournal(path, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	if len(rec) != 1 || rec[0].ID != plain.ID || rec[0].Forward.Error != JournalInterrupted {
		t.Fatalf("recovered %+v", rec)
	}
	rs := j2.takeRetries()
	if len(rs) != 1 || rs[0].req.ID != retried.ID || !rs[0].upsert || rs[0].cfg.Retry.MaxAttempts != 3 ||
		rs[0].req.Forward.NextAt == nil || !rs[0].req.Forward.NextAt.Equal(next) || len(rs[0].req.Forward.Attempts) != 1 ||
		!bytes.Equal(rs[0].req.Body, retried.Body) {
		t.Fatalf("retries %+v", rs)
	}
	if len(j2.takeRetries()) != 0 {
		t.Errorf("retries handed out twice")
	}
	// Once done, neither comes back.
	_ = j2.Done(plain.ID)
	_ = j2.Done(retried.ID)
	j3, rec, err := OpenJournal(path, JournalOptions{})
	if err != nil || len(rec) != 0 || len(j3.takeRetries()) != 0 {
		t.Fatalf("after done: %v %v", rec, err)
	}
	j3.Close()
}

// TestJournalKeepsTheOriginal: an entry whose record was redacted keeps
// the request as it arrived (headers and body) across a reopen, next to
// the redacted record, with its flags; an entry redaction did not change
// writes no second copy.
func TestJournalKeepsTheOriginal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, _, err := OpenJournal(path, JournalOptions{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &schema.ForwardConfig{URL: "http://target", Retry: &schema.RetryConfig{MaxAttempts: 3}}
	failed := &schema.Forward{URL: "http://target", Mode: "async", State: schema.ForwardRetrying,
		Attempts: []schema.ForwardAttempt{{At: schema.Truncate(time.Now()), Status: 500}}}
	red, plain := journalReq(0), journalReq(1)
	red.Forward, plain.Forward = failed, failed
	sent := *red
	sent.Headers = []schema.Header{{Name: "Authorization", Value: "Bearer SECRET"}}
	sent.Body = []byte(`{"card":"4242"}`)
	red.Headers = []schema.Header{{Name: "Authorization", Value: schema.RedactedValue}}
	red.Body = []byte(`{"card":"[redacted]"}`)
	red.Redacted = &schema.Redaction{Headers: []string{"Authorization"}, BodyPaths: []string{"card"}}
	if err := j.put(journalEntry{req: red, sent: &sent, cfg: cfg, seen: true}); err != nil {
		t.Fatal(err)
	}
	if err := j.put(journalEntry{req: plain, sent: plain, cfg: cfg, asStored: true}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	raw, _ := os.ReadFile(path)
	if n := bytes.Count(raw, []byte(`"orig"`)); n != 1 {
		t.Errorf("%d lines carry an original, want 1 (the redacted entry's)", n)
	}

	j2, _, err := OpenJournal(path, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got := map[uuid.UUID]*journalEntry{}
	for _, e := range j2.takeRetries() {
		got[e.req.ID] = e
	}
	e := got[red.ID]
	if e == nil || e.sent == nil || !e.seen || e.asStored {
		t.Fatalf("redacted entry read back as %+v", e)
	}
	if string(e.sent.Body) != string(sent.Body) || len(e.sent.Headers) != 1 || e.sent.Headers[0] != sent.Headers[0] || e.sent.Redacted != nil {
		t.Errorf("original read back as body %s headers %v redacted %v", e.sent.Body, e.sent.Headers, e.sent.Redacted)
	}
	if string(e.req.Body) != string(red.Body) || e.req.Headers[0].Value != schema.RedactedValue || e.req.Redacted == nil {
		t.Errorf("the record read back unredacted: %s %v", e.req.Body, e.req.Headers)
	}
	if e.sent.ID != red.ID || e.sent.Method != red.Method || e.sent.Path != red.Path {
		t.Errorf("the original lost the record's other fields: %+v", e.sent)
	}
	if p := got[plain.ID]; p == nil || p.sent != nil || !p.asStored {
		t.Errorf("plain entry read back as %+v", p)
	}
}

// TestJournalBoundedWhileRetriesWait: every retry writes its entry again;
// with entries that never finish (all waiting for retries), the file is
// still compacted, so it stays within MaxBytes or twice what is pending
// (plus the line that crossed the limit).
func TestJournalBoundedWhileRetriesWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	const maxBytes = 4096
	j, _, err := OpenJournal(path, JournalOptions{MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg := &schema.ForwardConfig{URL: "http://target", Retry: &schema.RetryConfig{MaxAttempts: 1000}}
	reqs := []*schema.Request{journalReq(0), journalReq(1), journalReq(2), journalReq(3)}
	for round := range 300 {
		var live, longest int64 // what is pending, as lines
		for _, r := range reqs {
			r.Forward = &schema.Forward{URL: "http://target", Mode: "async", Status: 500, State: schema.ForwardRetrying}
			r.Forward.Attempts = make([]schema.ForwardAttempt, round%3+1)
			e := journalEntry{req: r, cfg: cfg}
			if err := j.put(e); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(e.line(r.ID))
			live += int64(len(b)) + 1
			longest = max(longest, int64(len(b))+1)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		// Without compaction this grows by 4 lines a round (about 900 KB
		// at the end).
		if limit := max(int64(maxBytes), 2*live) + longest; fi.Size() > limit {
			t.Fatalf("round %d: journal at %d bytes, want at most %d (%d pending)", round, fi.Size(), limit, live)
		}
	}
	if j.Pending() != len(reqs) {
		t.Errorf("%d pending, want %d", j.Pending(), len(reqs))
	}
}

// TestJournalDropsTheOriginalAtOnce: when an entry that carried the
// request as it arrived ends while other entries are pending, the file is
// rewritten without it at once, not at some later compaction.
func TestJournalDropsTheOriginalAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.jsonl")
	j, _, err := OpenJournal(path, JournalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cfg := &schema.ForwardConfig{URL: "http://target", Retry: &schema.RetryConfig{MaxAttempts: 3}}
	other, red := journalReq(0), journalReq(1)
	sent := *red
	sent.Body = []byte("SECRET-BODY")
	red.Body = []byte("[redacted]")
	red.Redacted = &schema.Redaction{BodyDropped: true}
	if err := j.put(journalEntry{req: other, cfg: cfg}); err != nil {
		t.Fatal(err)
	}
	if err := j.put(journalEntry{req: red, sent: &sent, cfg: cfg}); err != nil {
		t.Fatal(err)
	}
	// Without a retry policy the original is not written at all.
	noRetry := journalReq(2)
	plainSent := *noRetry
	plainSent.Body = []byte("SECRET-NORETRY")
	if err := j.put(journalEntry{req: noRetry, sent: &plainSent, cfg: &schema.ForwardConfig{URL: "http://target"}}); err != nil {
		t.Fatal(err)
	}
	// Bodies are base64 in the JSON lines.
	secret := []byte(base64.StdEncoding.EncodeToString(sent.Body))
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, secret) {
		t.Fatal("the original is not in the journal while its retry waits")
	}
	if bytes.Contains(raw, []byte(base64.StdEncoding.EncodeToString(plainSent.Body))) {
		t.Error("a forward without retries wrote its original to the journal")
	}
	if err := j.Done(red.ID); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(path)
	if bytes.Contains(raw, secret) {
		t.Error("the original stayed in the journal file after its entry ended")
	}
	if j.Pending() != 2 {
		t.Errorf("%d pending, want 2", j.Pending())
	}
}
