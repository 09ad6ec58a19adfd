package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/alertstest"
)

func TestSignedPost(t *testing.T) {
	var status = http.StatusOK
	var got Payload
	var sigOK bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sigOK = r.Header.Get("X-Earshot-Signature") == Sign("s3cret", r.Header.Get("X-Earshot-Timestamp"), body) && r.Header.Get("X-Team") == "guests"
		_ = json.Unmarshal(body, &got)
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "3")
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	r := New("crm", Options{URL: srv.URL, Secret: "s3cret", Headers: map[string]string{"X-Team": "guests"}})
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err != nil || d.HTTPStatus != 200 {
		t.Fatal(d, err)
	}
	if !sigOK || len(got.Cases) != 1 || got.Cases[0].Mention.ID != "schemaorg:r1" || got.Cases[0].AckURL == "" {
		t.Errorf("signature ok %v, payload %+v", sigOK, got)
	}
	status = http.StatusServiceUnavailable
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || !d.Retry || d.RetryAfter.Seconds() != 3 {
		t.Errorf("503: %+v %v", d, err)
	}
	status = http.StatusBadRequest
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || d.Retry {
		t.Errorf("400 must be final: %+v %v", d, err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	var key string
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key = r.Header.Get("Idempotency-Key")
		body = nil
		_ = json.NewDecoder(r.Body).Decode(&body)
	}))
	defer srv.Close()
	// A configured header of the same name must not replace the message's key.
	r := New("crm", Options{URL: srv.URL, Headers: map[string]string{"Idempotency-Key": "static"}})
	m := alertstest.Hostile()
	m.ID = "msg-0123abcd"
	for range 2 { // a retry carries the same key
		if _, err := r.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
		if key != "msg-0123abcd" || body["id"] != "msg-0123abcd" {
			t.Errorf("Idempotency-Key %q, payload id %v; want msg-0123abcd", key, body["id"])
		}
	}
	m.ID = ""
	r = New("crm", Options{URL: srv.URL})
	if _, err := r.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["id"]; key != "" || ok {
		t.Errorf("no message id: key %q, payload id present %v", key, ok)
	}
}

func TestOutcomeUnknown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		<-r.Context().Done() // took it, never answers
	}))
	defer srv.Close()
	r := New("crm", Options{URL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if d, err := r.Send(ctx, alertstest.Hostile()); err == nil || !d.Unknown || !d.Retry || !errors.Is(err, alerts.ErrOutcomeUnknown) {
		t.Errorf("no answer: %+v %v; want Unknown and Retry", d, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	r = New("crm", Options{URL: "http://" + closed + "/hook"})
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || d.Unknown || !d.Retry {
		t.Errorf("closed port: %+v %v; want Retry, not Unknown", d, err)
	}
}

func TestRetryAfterDate(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "Mon, 23 Nov 2026 12:02:00 GMT")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	r := New("crm", Options{URL: srv.URL})
	r.now = func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }
	if d, err := r.Send(context.Background(), alertstest.Hostile()); err == nil || !d.Retry || d.RetryAfter != 2*time.Minute || d.HTTPStatus != 429 {
		t.Errorf("429 with an HTTP-date: %+v %v; want retry after 2m", d, err)
	}
}
