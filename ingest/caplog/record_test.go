package caplog

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hookscope/hookscope/schema"
)

func sampleRequest() *schema.Request {
	lag := int64(-1234)
	return &schema.Request{
		ID:         uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8057"),
		BinID:      "my-bin_1",
		ReceivedAt: time.Date(2026, 11, 28, 17, 1, 2, 345678000, time.UTC),
		Method:     "POST",
		Path:       "/hooks/a b",
		Query:      "x=1&y=%00",
		Headers: []schema.Header{
			{Name: "Content-Type", Value: "application/json"},
			{Name: "X-Dup", Value: "1"}, {Name: "X-Dup", Value: "2"},
			{Name: "", Value: ""},
		},
		RemoteIP:       "2001:db8::1",
		ContentType:    "application/json",
		BodySize:       1 << 40,
		BodyTruncated:  true,
		Aborted:        true,
		Body:           []byte("{\"a\":1}\x00\xff\xfe"),
		ResponseStatus: 202,
		LatencyUS:      17,
		Signature:      schema.Signature{Scheme: "stripe", Status: schema.SigInvalid, Reason: "timestamp outside tolerance"},
		DeliveryLagMS:  &lag,
		Forward:        &schema.Forward{URL: "http://example.test/x", Mode: "async", Status: 502, LatencyUS: 99, Error: "bad gateway"},
	}
}

func TestRequestRoundTrip(t *testing.T) {
	full := sampleRequest()
	minimal := &schema.Request{}
	noOptional := sampleRequest()
	noOptional.DeliveryLagMS, noOptional.Forward, noOptional.Body, noOptional.Headers = nil, nil, nil, nil
	farTime := sampleRequest()
	farTime.ReceivedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
	before1970 := sampleRequest()
	before1970.ReceivedAt = time.Date(1900, 1, 1, 0, 0, 0, 1, time.UTC)
	bigBody := sampleRequest()
	bigBody.Body = bytes.Repeat([]byte{0x80}, 1<<20)
	withEvent := sampleRequest()
	first := uuid.MustParse("01890a5d-ac96-774b-bcce-b302099a8000")
	withEvent.EventType, withEvent.DeliveryID, withEvent.Attempt, withEvent.DuplicateOf = "invoice.paid", "evt_1", 3, &first
	eventOnly := &schema.Request{DeliveryID: "d"}
	refused := sampleRequest()
	refused.RefusedReason = "sender 10.1.2.3 is not in allow_cidrs"
	redacted := sampleRequest()
	redacted.Redacted = &schema.Redaction{Headers: []string{"Authorization", "cookie"}, BodyPaths: []string{"card.number"}}
	dropped := &schema.Request{RefusedReason: "signature missing: no header", Redacted: &schema.Redaction{BodyDropped: true}}
	for name, r := range map[string]*schema.Request{
		"refused": refused, "redacted": redacted, "refused, body dropped": dropped,
		"event fields": withEvent, "delivery id only": eventOnly,
		"full": full, "zero": minimal, "no optional fields": noOptional,
		"year 9999": farTime, "before 1970": before1970, "1 MiB body": bigBody,
	} {
		t.Run(name, func(t *testing.T) {
			b, err := EncodeRequest(nil, r)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DecodeRequest(b)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
			}
			// The decoded request owns its memory.
			for i := range b {
				b[i] = 0
			}
			if !reflect.DeepEqual(got, r) {
				t.Fatal("decoded request changed when the input buffer was overwritten")
			}
		})
	}
}

// decodeVariants are the three decoders with what each must return for r.
var decodeVariants = []struct {
	name   string
	decode func([]byte) (*schema.Request, error)
	want   func(r *schema.Request) *schema.Request
}{
	{"full", DecodeRequest, func(r *schema.Request) *schema.Request { return r }},
	{"meta", DecodeRequestMeta, func(r *schema.Request) *schema.Request { c := *r; c.Body = nil; return &c }},
	{"owned", DecodeRequestOwned, func(r *schema.Request) *schema.Request { return r }},
}

// TestDecodeVariants: the metadata-only and in-place decoders agree with
// DecodeRequest on every kind of record, and share memory with the input
// only where documented (owned: the body).
func TestDecodeVariants(t *testing.T) {
	withEvent := sampleRequest()
	withEvent.EventType, withEvent.DeliveryID, withEvent.Attempt = "invoice.paid", "evt_1", 3
	noBody := sampleRequest()
	noBody.Body = nil
	bigBody := sampleRequest()
	bigBody.Body = bytes.Repeat([]byte{0x80}, 300) // a two-byte length prefix
	for name, r := range map[string]*schema.Request{"full": sampleRequest(), "zero": {}, "event": withEvent, "no body": noBody, "300-byte body": bigBody} {
		for _, v := range decodeVariants {
			t.Run(name+"/"+v.name, func(t *testing.T) {
				b, err := EncodeRequest(nil, r)
				if err != nil {
					t.Fatal(err)
				}
				got, err := v.decode(b)
				if err != nil {
					t.Fatal(err)
				}
				want := v.want(r)
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
				}
				if v.name == "owned" && len(got.Body) > 0 {
					if cap(got.Body) != len(got.Body) {
						t.Fatalf("owned body has capacity %d past its length %d: an append would write into the record", cap(got.Body), len(got.Body))
					}
					got.Body = append(got.Body, '!') // must not touch b
				}
				for i := range b {
					b[i] = 0
				}
				if v.name == "owned" && len(r.Body) > 0 {
					got.Body = want.Body // the body is b's, by contract; everything else must be unchanged
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatal("decoded request changed when the input buffer was overwritten")
				}
			})
		}
	}
}

func TestRequestEntry(t *testing.T) {
	r := sampleRequest()
	e, err := RequestEntry(make([]byte, 0, 64), r)
	if err != nil {
		t.Fatal(err)
	}
	if e.Key != r.BinID || e.ID != r.ID {
		t.Fatalf("entry %s/%s, want %s/%s", e.Key, e.ID, r.BinID, r.ID)
	}
	got, err := DecodeRequest(e.Data)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("entry data does not decode to the request: %v", err)
	}
	if _, err := EncodeRequest(nil, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("encode nil: %v", err)
	}
}

func TestDecodeRequestRejects(t *testing.T) {
	good, err := EncodeRequest(nil, sampleRequest())
	if err != nil {
		t.Fatal(err)
	}
	// Every strict prefix is truncated, hence invalid.
	for n := 0; n < len(good); n++ {
		if _, err := DecodeRequest(good[:n]); !errors.Is(err, ErrInvalid) {
			t.Fatalf("prefix of %d bytes: %v, want ErrInvalid", n, err)
		}
	}
	cases := map[string][]byte{
		"trailing byte": append(append([]byte{}, good...), 0),
		"version 2":     append([]byte{2}, good[1:]...),
		"unknown flag":  append(append(append([]byte{}, good[:17]...), 0x80), good[18:]...),
		// version, id, flags, seconds, nanoseconds = 1e9 (out of range)
		"nanoseconds": append(append([]byte{1}, make([]byte, 17)...), 0, 0x80, 0x94, 0xeb, 0xdc, 0x03),
		// a header count of 2^40 in a tiny record must not allocate
		"header count": append(append([]byte{1}, make([]byte, 17)...), 0, 0, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20),
		// a string length of 2^62
		"string length": append(append([]byte{1}, make([]byte, 17)...), 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40),
		// an 11-byte varint overflows
		"varint overflow": append(append([]byte{1}, make([]byte, 17)...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
	}
	for name, b := range cases {
		for _, v := range decodeVariants {
			if _, err := v.decode(b); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %s: %v, want ErrInvalid", name, v.name, err)
			}
		}
	}
	for n := 0; n < len(good); n++ {
		for _, v := range decodeVariants[1:] {
			if _, err := v.decode(good[:n]); !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s: prefix of %d bytes: %v, want ErrInvalid", v.name, n, err)
			}
		}
	}
}

// FuzzDecodeRequest: arbitrary bytes never panic or over-allocate; whatever
// decodes re-encodes to something that decodes to the same request.
func FuzzDecodeRequest(f *testing.F) {
	good, _ := EncodeRequest(nil, sampleRequest())
	f.Add(good)
	zero, _ := EncodeRequest(nil, &schema.Request{})
	f.Add(zero)
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRequest(b)
		// The other decoders accept exactly what DecodeRequest accepts,
		// and return the same request (meta: without the body).
		for _, v := range decodeVariants[1:] {
			got, verr := v.decode(bytes.Clone(b))
			if (verr == nil) != (err == nil) {
				t.Fatalf("%s: error %v, DecodeRequest: %v", v.name, verr, err)
			}
			if verr != nil && !errors.Is(verr, ErrInvalid) {
				t.Fatalf("%s: error %v does not wrap ErrInvalid", v.name, verr)
			}
			if err == nil && !reflect.DeepEqual(got, v.want(r)) {
				t.Fatalf("%s: got %+v, DecodeRequest: %+v", v.name, got, r)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		again, err := EncodeRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeRequest(again)
		if err != nil {
			t.Fatalf("re-encoded request does not decode: %v", err)
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("decode(encode(decode(b))) != decode(b)")
		}
	})
}

// FuzzRequestRoundTrip: requests built from fuzzed fields round-trip exactly.
func FuzzRequestRoundTrip(f *testing.F) {
	f.Add("bin", "POST", "/", "a=1", "X-A", "v", []byte("body"), int64(5), int64(1700000000), int64(123), 200, true, int64(7), "url")
	f.Fuzz(func(t *testing.T, bin, method, path, query, hname, hval string, body []byte, size, sec, nsec int64, status int, trunc bool, lag int64, furl string) {
		if nsec < 0 {
			nsec = -nsec
		}
		r := &schema.Request{
			ID: uuid.NewSHA1(uuid.Nil, body), BinID: bin, Method: method, Path: path, Query: query,
			ReceivedAt: time.Unix(sec, nsec%int64(time.Second)).UTC(),
			Headers:    []schema.Header{{Name: hname, Value: hval}, {Name: hval, Value: hname}},
			BodySize:   size, BodyTruncated: trunc, Aborted: !trunc, ResponseStatus: status, LatencyUS: -size,
			Signature: schema.Signature{Scheme: hname, Status: schema.SignatureStatus(hval), Reason: query},
		}
		if len(body) > 0 {
			r.Body = body
		}
		if lag%3 == 0 {
			r.EventType, r.DeliveryID, r.Attempt = hval, hname, status
			if trunc {
				r.DuplicateOf = &r.ID
			}
		}
		if lag%2 == 0 {
			r.DeliveryLagMS = &lag
			r.Forward = &schema.Forward{URL: furl, Mode: method, Status: status, LatencyUS: lag, Error: path}
		}
		b, err := EncodeRequest(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeRequest(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, r)
		}
	})
}

func benchRequest() *schema.Request {
	r := sampleRequest()
	r.Body = []byte(strings.Repeat("x", 1024))
	r.Headers = nil
	for i := range 12 {
		r.Headers = append(r.Headers, schema.Header{Name: "X-Header-" + string(rune('A'+i)), Value: "some value of a header"})
	}
	return r
}

func BenchmarkEncodeRequest(b *testing.B) {
	r := benchRequest()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = EncodeRequest(buf[:0], r)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDecodeRequest(b *testing.B) {
	buf, _ := EncodeRequest(nil, benchRequest())
	for _, v := range decodeVariants {
		b.Run(v.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				if _, err := v.decode(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeRequestJSON is the comparison point (the JSON view).
func BenchmarkDecodeRequestJSON(b *testing.B) {
	buf, _ := json.Marshal(benchRequest())
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		var r schema.Request
		if err := json.Unmarshal(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}
