// Package httpx is the polite HTTP client the API and feed collectors share:
// an honest User-Agent, robots.txt, a minimum delay between requests to one
// host, a cap on body size (after decompression) and time, redirects only to
// allowed hosts and ports, no connections to private networks unless
// allowed, conditional requests (ETag / Last-Modified), and retries with
// backoff and jitter on 429 and 5xx that honour Retry-After.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/temoto/robotstxt"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/internal/wait"
)

// Options configure a client.
type Options struct {
	UserAgent string
	Timeout   time.Duration // per attempt; default 20s
	MaxBody   int64         // bytes after decompression; default 5 MiB; larger bodies are an error
	HostDelay time.Duration // minimum time between requests to one host
	// AllowedHosts are the hosts the caller may ask for and redirects may
	// lead to, in the forms of Hosts; empty: any host (the caller chose the
	// URLs). A redirect may also stay on the server of the URL asked for.
	AllowedHosts []string
	IgnoreRobots bool
	// AllowPrivateNetworks lets connections reach loopback, private,
	// link-local and other non-public addresses (see Guard).
	AllowPrivateNetworks bool
	Retries              int           // extra attempts on 429, 5xx and network errors; default 3
	BaseBackoff          time.Duration // first backoff; default 1s, doubling, with full jitter
	MaxWait              time.Duration // cap on one wait, Retry-After included; default 2m
	// Transport replaces the guarded one (Guard.Transport), and with it the
	// private-network check; bodies stay capped.
	Transport http.RoundTripper
	// Header is sent with every request except robots.txt (e.g. an
	// Authorization token the source needs).
	Header http.Header
	// Sleep waits d or until ctx ends; tests replace it to record waits.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Errors callers can test for.
var (
	ErrDisallowed = errors.New("disallowed by robots.txt")
	ErrTooLarge   = errors.New("response body too large")
	ErrHost       = errors.New("host not allowed")
)

// StatusError is a final non-2xx answer.
type StatusError struct {
	Code int
	URL  string
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Code) }

// Client is safe for concurrent use.
type Client struct {
	o      Options
	hc     *http.Client
	mu     sync.Mutex
	next   map[string]time.Time // host -> earliest time of its next request
	robots map[string]*robotstxt.Group
}

// New returns a client.
func New(o Options) *Client {
	if o.Timeout == 0 {
		o.Timeout = 20 * time.Second
	}
	if o.MaxBody == 0 {
		o.MaxBody = 5 << 20
	}
	if o.Retries == 0 {
		o.Retries = 3
	}
	if o.BaseBackoff == 0 {
		o.BaseBackoff = time.Second
	}
	if o.MaxWait == 0 {
		o.MaxWait = 2 * time.Minute
	}
	if o.Sleep == nil {
		o.Sleep = wait.Sleep
	}
	if o.UserAgent == "" {
		o.UserAgent = "Earshot/0.1"
	}
	base := o.Transport
	if base == nil {
		base = Guard{AllowPrivate: o.AllowPrivateNetworks}.Transport()
	}
	c := &Client{o: o, next: map[string]time.Time{}, robots: map[string]*robotstxt.Group{}}
	c.hc = &http.Client{
		Transport: &LimitTransport{Base: base, Max: o.MaxBody},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			// Host and port: another port of an allowed host is another
			// service (an admin panel, a database), not the same site.
			if len(c.o.AllowedHosts) > 0 && !Hosts(c.o.AllowedHosts).Allows(req.URL) && HostPort(req.URL) != HostPort(via[0].URL) {
				return fmt.Errorf("redirect to %s: %w", HostPort(req.URL), ErrHost)
			}
			return nil
		},
	}
	return c
}

// Conditional carries validators from the previous fetch.
type Conditional struct {
	ETag         string
	LastModified string
}

// Response is a fetched body. NotModified is set on 304, with no body.
type Response struct {
	URL         string
	Status      int
	Header      http.Header
	Body        []byte
	NotModified bool
}

// Validators returns the response's ETag and Last-Modified for next time.
func (r *Response) Validators() Conditional {
	return Conditional{ETag: r.Header.Get("ETag"), LastModified: r.Header.Get("Last-Modified")}
}

// Get fetches rawURL politely, retrying what is worth retrying.
func (c *Client) Get(ctx context.Context, rawURL string, cond Conditional) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("GET %s: not an http(s) URL", rawURL)
	}
	if len(c.o.AllowedHosts) > 0 && !Hosts(c.o.AllowedHosts).allowsName(u) {
		return nil, fmt.Errorf("GET %s: %w", rawURL, ErrHost)
	}
	if !c.o.IgnoreRobots {
		ok, err := c.robotsAllow(ctx, u)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("GET %s: %w", rawURL, ErrDisallowed)
		}
	}
	var lastErr error
	for attempt := 0; attempt <= c.o.Retries; attempt++ {
		resp, wait, err := c.try(ctx, u, cond)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if wait < 0 || attempt == c.o.Retries {
			break
		}
		if err := c.o.Sleep(ctx, backoff(wait, attempt, c.o.BaseBackoff, c.o.MaxWait)); err != nil {
			return nil, err
		}
	}
	return nil, lastErr
}

// try makes one attempt. wait < 0: do not retry; 0: back off; > 0: the
// server said how long (Retry-After).
func (c *Client) try(ctx context.Context, u *url.URL, cond Conditional) (*Response, time.Duration, error) {
	if err := c.pace(ctx, u.Hostname()); err != nil {
		return nil, -1, err
	}
	actx, cancel := context.WithTimeout(ctx, c.o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, -1, err
	}
	req.Header.Set("User-Agent", c.o.UserAgent)
	req.Header.Set("Accept", "application/json, application/xml;q=0.9, text/html;q=0.8, */*;q=0.5")
	if u.Path != "/robots.txt" {
		for k, vs := range c.o.Header {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if errors.Is(err, ErrHost) || errors.Is(err, ErrPrivateAddress) || ctx.Err() != nil {
			return nil, -1, fmt.Errorf("GET %s: %w", u, err)
		}
		return nil, 0, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	out := &Response{URL: resp.Request.URL.String(), Status: resp.StatusCode, Header: resp.Header}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.NotModified = true
		return out, 0, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, retryAfter(resp.Header, time.Now()), &StatusError{Code: resp.StatusCode, URL: u.String()}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, -1, &StatusError{Code: resp.StatusCode, URL: u.String()}
	}
	if resp.ContentLength > c.o.MaxBody {
		return nil, -1, fmt.Errorf("GET %s: %d bytes: %w (limit %d)", u, resp.ContentLength, ErrTooLarge, c.o.MaxBody)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.o.MaxBody+1))
	if errors.Is(err, ErrTooLarge) {
		return nil, -1, fmt.Errorf("GET %s: %w", u, err)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("GET %s: read body: %w", u, err)
	}
	if int64(len(body)) > c.o.MaxBody {
		return nil, -1, fmt.Errorf("GET %s: %w (limit %d)", u, ErrTooLarge, c.o.MaxBody)
	}
	out.Body = body
	return out, 0, nil
}

// pace waits until the host may be asked again and books the next slot.
func (c *Client) pace(ctx context.Context, host string) error {
	c.mu.Lock()
	now := time.Now()
	at := c.next[host]
	if at.Before(now) {
		at = now
	}
	c.next[host] = at.Add(c.o.HostDelay)
	c.mu.Unlock()
	if d := at.Sub(now); d > 0 {
		return c.o.Sleep(ctx, d)
	}
	return nil
}

// robotsAllow fetches and caches the host's robots.txt. Following the
// robots.txt rules: 4xx means everything is allowed, 5xx or an unreachable
// host means nothing is (try again next pass).
func (c *Client) robotsAllow(ctx context.Context, u *url.URL) (bool, error) {
	key := u.Scheme + "://" + u.Host
	c.mu.Lock()
	g, ok := c.robots[key]
	c.mu.Unlock()
	if !ok {
		ru := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/robots.txt"}
		status, body := 0, []byte(nil)
		resp, _, err := c.try(ctx, ru, Conditional{})
		var se *StatusError
		switch {
		case err == nil:
			status, body = resp.Status, resp.Body
		case errors.As(err, &se):
			status = se.Code
		default:
			return false, fmt.Errorf("robots.txt of %s: %w", u.Host, err)
		}
		data, err := robotstxt.FromStatusAndBytes(status, body)
		if err != nil {
			data, _ = robotstxt.FromStatusAndBytes(404, nil) // unparseable: treat as absent
		}
		g = data.FindGroup(c.o.UserAgent)
		c.mu.Lock()
		c.robots[key] = g
		c.mu.Unlock()
	}
	p := u.EscapedPath()
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return g.Test(p), nil
}

// backoff is the wait before retry number attempt+1: what the server asked
// for (Retry-After), else full jitter, a random wait up to the exponential
// bound, so that many workers retrying do not arrive together; capped.
func backoff(asked time.Duration, attempt int, base, maxWait time.Duration) time.Duration {
	if asked <= 0 {
		asked = time.Duration(rand.Int64N(int64(base<<attempt)) + 1)
	}
	return min(asked, maxWait)
}

// RetryTransport retries GETs that met 429, 5xx or a network error,
// honouring Retry-After; for clients that bring their own request loop
// (colly in the page crawler).
type RetryTransport struct {
	Base        http.RoundTripper // default http.DefaultTransport
	Retries     int               // default 3
	BaseBackoff time.Duration     // default 1s
	MaxWait     time.Duration     // default 2m
	Sleep       func(ctx context.Context, d time.Duration) error
}

// RoundTrip implements http.RoundTripper.
func (t *RetryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base, retries, first, maxWait, sl := t.Base, t.Retries, t.BaseBackoff, t.MaxWait, t.Sleep
	if base == nil {
		base = http.DefaultTransport
	}
	if retries == 0 {
		retries = 3
	}
	if first == 0 {
		first = time.Second
	}
	if maxWait == 0 {
		maxWait = 2 * time.Minute
	}
	if sl == nil {
		sl = wait.Sleep
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return base.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		resp, err := base.RoundTrip(req)
		retryable := err != nil && req.Context().Err() == nil && !errors.Is(err, ErrPrivateAddress) ||
			err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500)
		if !retryable || attempt == retries {
			return resp, err
		}
		asked := time.Duration(0)
		if err == nil {
			asked = retryAfter(resp.Header, time.Now())
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
			resp.Body.Close()
		}
		if serr := sl(req.Context(), backoff(asked, attempt, first, maxWait)); serr != nil {
			return nil, serr
		}
	}
}

// retryAfter reads Retry-After (seconds or an HTTP date); 0 when absent.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s)*time.Second + time.Millisecond
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// FromConfig returns a client with the shared collect settings, limited to
// hosts (in the forms of Hosts).
func FromConfig(c config.Collect, hosts ...string) *Client {
	return New(Options{UserAgent: c.UserAgent, Timeout: c.Timeout, MaxBody: int64(c.MaxBodySize), HostDelay: c.HostDelay,
		IgnoreRobots: c.IgnoreRobots, AllowPrivateNetworks: c.AllowPrivateNetworks, AllowedHosts: hosts})
}

// WithHeader returns a new client like c that also sends h.
func (c *Client) WithHeader(h http.Header) *Client {
	o := c.o
	o.Header = h
	return New(o)
}
