package httpx

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// TooLargeError is a body over the size cap; it matches ErrTooLarge.
type TooLargeError struct {
	Limit    int64
	Inflated bool // the cap was passed while decompressing
}

func (e *TooLargeError) Error() string {
	if e.Inflated {
		return fmt.Sprintf("body larger than %s after decompression", size(e.Limit))
	}
	return fmt.Sprintf("body larger than %s", size(e.Limit))
}

// Is makes errors.Is(err, ErrTooLarge) true.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }

func size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// NewTransport returns the transport collectors share: every dial passes g,
// and response bodies are capped at maxBody bytes after decompression.
func NewTransport(g Guard, maxBody int64) *LimitTransport {
	return &LimitTransport{Base: g.Transport(), Max: maxBody}
}

// LimitTransport caps response bodies at Max bytes as the reader sees them,
// that is after decompression, which is where a gzip bomb (a 1 MB download
// inflating to gigabytes) does its harm; a read past the cap fails with a
// *TooLargeError.
//
// It also does the decompression colly would otherwise do itself, uncapped
// (colly v2.3 applies its MaxBodySize to the compressed bytes, then gunzips
// everything when Content-Encoding mentions gzip without net/http having
// decoded it, when Content-Type mentions gzip, or when the path ends in
// .xml.gz): it gunzips those bodies under the cap and sets
// Response.Uncompressed, which tells colly the body is already plain.
type LimitTransport struct {
	Base http.RoundTripper // default http.DefaultTransport
	Max  int64             // bytes; 0: no cap
}

// RoundTrip implements http.RoundTripper.
func (t *LimitTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil || t.Max <= 0 || resp.Body == nil {
		return resp, err
	}
	inflated := resp.Uncompressed // net/http decoded Content-Encoding: gzip
	var body io.Reader = resp.Body
	if !resp.Uncompressed && gzipSignalled(resp) {
		body = &gunzip{src: bufio.NewReader(resp.Body)}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
		inflated = true
	}
	resp.Body = &capReader{r: body, c: resp.Body, left: t.Max, max: t.Max, inflated: inflated}
	return resp, nil
}

// CloseIdleConnections closes the base transport's idle connections, for a
// transport made for one pass.
func (t *LimitTransport) CloseIdleConnections() {
	if b, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		b.CloseIdleConnections()
	}
}

// gzipSignalled mirrors colly's test for a body to gunzip, with any .gz
// path rather than .xml.gz only.
func gzipSignalled(resp *http.Response) bool {
	enc := strings.ToLower(resp.Header.Get("Content-Encoding"))
	if strings.Contains(enc, "gzip") {
		return true
	}
	if enc == "" && strings.Contains(strings.ToLower(resp.Header.Get("Content-Type")), "gzip") {
		return true
	}
	return resp.Request != nil && strings.HasSuffix(strings.ToLower(resp.Request.URL.Path), ".gz")
}

// gunzip decompresses its source on first read when it starts with the
// gzip magic bytes and passes it through otherwise (a .gz path or a gzip
// Content-Type served plain), so that nothing blocks in RoundTrip.
type gunzip struct {
	src *bufio.Reader
	r   io.Reader
}

func (g *gunzip) Read(p []byte) (int, error) {
	if g.r == nil {
		if magic, _ := g.src.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
			zr, err := gzip.NewReader(g.src)
			if err != nil {
				return 0, fmt.Errorf("gunzip: %w", err)
			}
			g.r = zr
		} else {
			g.r = g.src
		}
	}
	return g.r.Read(p)
}

// capReader fails a read past max bytes. For an inflated body it looks one
// byte ahead as soon as the cap is reached, because readers that stop at
// exactly the cap (colly's io.LimitReader at the same MaxBodySize) would
// otherwise cut a bomb silently instead of failing. A plain body is only
// failed when read past the cap, which keeps colly's cut-and-report for an
// oversized page but still bounds readers with no limit of their own
// (colly reads robots.txt whole).
type capReader struct {
	r         io.Reader
	c         io.Closer
	left, max int64
	inflated  bool
	err       error
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if c.left <= 0 {
		return 0, c.probe()
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	if err == nil && c.left == 0 && c.inflated {
		err = c.probe()
	}
	return n, err
}

// probe reads one byte past the cap: more data is an error, else EOF.
func (c *capReader) probe() error {
	var b [1]byte
	n, err := io.ReadFull(c.r, b[:])
	switch {
	case n > 0:
		c.err = &TooLargeError{Limit: c.max, Inflated: c.inflated}
	case err == io.EOF:
		c.err = io.EOF
	default:
		c.err = err
	}
	return c.err
}

func (c *capReader) Close() error { return c.c.Close() }
