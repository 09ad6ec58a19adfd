package alerts

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrOutcomeUnknown marks an attempt whose request went out but got no
// answer: the receiver may or may not have acted on it.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request was sent but no answer came back")

// HTTPReply is a receiver's HTTP answer, its body cut to the limit given
// to SendHTTP.
type HTTPReply struct {
	Status int
	Header http.Header
	Body   []byte
}

// SendHTTP makes one HTTP exchange for a receiver, in req's context, and
// never retries: the notifier does, with a fresh context per attempt.
//
// On a failure without an answer it returns a Delivery with Retry set and
// Unknown set when the request had been written to the connection
// (httptrace WroteRequest): a timeout or a connection closed after that
// point may follow a message the receiver accepted. A failure before it
// (refused dial, DNS) sent nothing. The error leaves out the URL, which
// can hold a secret (Slack webhook URLs do).
//
// A body read that fails after the status line arrived is not a failure:
// the status is the answer.
func SendHTTP(hc *http.Client, req *http.Request, limit int64) (HTTPReply, Delivery, error) {
	// Counted, not flagged: the transport may retry on another connection
	// (a reused one the server had closed), and WroteRequest runs on the
	// transport's writer goroutine, possibly after Do gave up.
	var conns, reports atomic.Int32
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { conns.Add(1) },
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			if i.Err == nil {
				wrote.Store(true)
			}
			reports.Add(1)
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // keep the cause, drop the URL
		}
		// A connection whose write was never reported was cut while
		// writing (the deadline hit): it may have gone out whole.
		if wrote.Load() || conns.Load() > reports.Load() {
			return HTTPReply{}, Delivery{Retry: true, Unknown: true}, fmt.Errorf("%s %s: %w: %w", req.Method, req.URL.Host, ErrOutcomeUnknown, err)
		}
		return HTTPReply{}, Delivery{Retry: true}, fmt.Errorf("%s %s: not sent: %w", req.Method, req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, limit))
	// Drain a little more so the connection can be reused.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return HTTPReply{Status: resp.StatusCode, Header: resp.Header, Body: body}, Delivery{HTTPStatus: resp.StatusCode}, nil
}

// Retryable reports whether an HTTP status is worth another attempt:
// rate limited (429) or a server-side failure (5xx).
func Retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// RetryAfter reads a Retry-After header in either form RFC 9110 allows,
// delay-seconds ("120") or an HTTP-date ("Wed, 21 Oct 2026 07:28:00 GMT",
// relative to now). It returns 0 when the header is absent, malformed or
// in the past.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil {
		// A huge value must not overflow into a negative duration.
		if s > uint64(math.MaxInt64/int64(time.Second)) {
			return time.Duration(math.MaxInt64)
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

// HTTPDelivery is the Delivery for an HTTP answer that is not a success:
// 429 and 5xx are retryable, after the Retry-After the receiver gave.
func HTTPDelivery(r HTTPReply, now time.Time) Delivery {
	d := Delivery{HTTPStatus: r.Status}
	if Retryable(r.Status) {
		d.Retry = true
		d.RetryAfter = RetryAfter(r.Header, now)
	}
	return d
}
