package alerts

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hangingServer reads each request whole, then answers nothing until the
// client drops the connection.
func hangingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var seen atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		seen.Add(1)
		<-r.Context().Done()
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

// closedPort is a 127.0.0.1 address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func post(t *testing.T, ctx context.Context, url string) *http.Request {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestSendHTTPUnknownWhenNoAnswer(t *testing.T) {
	srv, seen := hangingServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, d, err := SendHTTP(&http.Client{}, post(t, ctx, srv.URL+"/hook/SECRETPART"), 1024)
	if err == nil || !d.Unknown || !d.Retry || d.HTTPStatus != 0 {
		t.Fatalf("hanging server: %+v %v; want Unknown and Retry", d, err)
	}
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "outcome unknown") {
		t.Errorf("error %v: want outcome unknown, wrapping the deadline", err)
	}
	if strings.Contains(err.Error(), "SECRETPART") {
		t.Errorf("error leaks the URL: %v", err)
	}
	if n := seen.Load(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
}

func TestSendHTTPUnknownWhenConnectionDrops(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // took the request, never answers
		}
	}))
	defer srv.Close()
	_, d, err := SendHTTP(&http.Client{}, post(t, context.Background(), srv.URL), 1024)
	if err == nil || !d.Unknown || !d.Retry || !errors.Is(err, ErrOutcomeUnknown) {
		t.Errorf("connection closed after the request: %+v %v; want Unknown and Retry", d, err)
	}
}

func TestSendHTTPNotSent(t *testing.T) {
	// Refused: nothing was written, so a retry cannot duplicate.
	_, d, err := SendHTTP(&http.Client{}, post(t, context.Background(), "http://"+closedPort(t)+"/hook/SECRETPART"), 1024)
	if err == nil || d.Unknown || !d.Retry || errors.Is(err, ErrOutcomeUnknown) || strings.Contains(err.Error(), "SECRETPART") {
		t.Errorf("closed port: %+v %v; want Retry, not Unknown, no URL", d, err)
	}
	// A context that expired before the attempt sends nothing either.
	srv, seen := hangingServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, d, err = SendHTTP(&http.Client{}, post(t, ctx, srv.URL), 1024)
	if err == nil || d.Unknown || !d.Retry || seen.Load() != 0 {
		t.Errorf("expired context: %+v %v, %d requests seen; want Retry, not Unknown, none sent", d, err, seen.Load())
	}
}

func TestSendHTTPAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "Mon, 23 Nov 2026 12:00:30 GMT")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(strings.Repeat("x", 5000)))
	}))
	defer srv.Close()
	reply, d, err := SendHTTP(&http.Client{}, post(t, context.Background(), srv.URL), 100)
	if err != nil || d.Unknown || d.HTTPStatus != 503 || reply.Status != 503 || len(reply.Body) != 100 {
		t.Fatalf("503: %+v %+v %v", reply.Status, d, err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	if got := HTTPDelivery(reply, now); !got.Retry || got.RetryAfter != 30*time.Second || got.HTTPStatus != 503 {
		t.Errorf("HTTPDelivery: %+v", got)
	}
	if got := HTTPDelivery(HTTPReply{Status: 400, Header: http.Header{"Retry-After": {"5"}}}, now); got.Retry || got.RetryAfter != 0 {
		t.Errorf("400 is final: %+v", got)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"120", 120 * time.Second},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-3", 0},
		{"1.5", 0},
		{"soon", 0},
		{"Mon, 23 Nov 2026 12:01:30 GMT", 90 * time.Second},  // IMF-fixdate
		{"Monday, 23-Nov-26 12:00:10 GMT", 10 * time.Second}, // obsolete RFC 850
		{"Mon Nov 23 12:00:05 2026", 5 * time.Second},        // obsolete asctime
		{"Mon, 23 Nov 2026 11:00:00 GMT", 0},                 // in the past
		{"99999999999999999999", 0},                          // not a uint64
		{"9999999999999999999", time.Duration(1<<63 - 1)},    // clamped, not negative
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.v != "" {
			h.Set("Retry-After", tt.v)
		}
		if got := RetryAfter(h, now); got != tt.want {
			t.Errorf("Retry-After %q: %v, want %v", tt.v, got, tt.want)
		}
	}
}
