package httpx

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// gzipBomb returns a valid gzip stream of inflated zero bytes (whole MiBs):
// one compressed MiB repeated, as a multi-member stream, so that building
// it is quick and it is about a thousandth of what it inflates to.
func gzipBomb(t testing.TB, inflated int) []byte {
	t.Helper()
	var one bytes.Buffer
	zw, err := gzip.NewWriterLevel(&one, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.Repeat(one.Bytes(), inflated>>20)
}

// allocated returns the bytes allocated while f ran: had a body been
// inflated in memory, they would be at least its size.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// bombServer serves a 200 MiB gzip bomb (200 KB on the wire) on every path,
// labelled as the header pairs say, and gzip's own small test body under
// /small/.
func bombServer(t *testing.T, header ...string) *httptest.Server {
	bomb := gzipBomb(t, 200<<20)
	var small bytes.Buffer
	zw := gzip.NewWriter(&small)
	zw.Write([]byte("small and fine"))
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if strings.HasPrefix(r.URL.Path, "/small/") {
			w.Write(small.Bytes())
			return
		}
		w.Write(bomb)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestGzipBombClient(t *testing.T) {
	tests := []struct {
		name   string
		header []string
		path   string
	}{
		{"Content-Encoding gzip, decoded by net/http", []string{"Content-Encoding", "gzip"}, "/page"},
		{"Content-Encoding x-gzip", []string{"Content-Encoding", "x-gzip"}, "/page"},
		{"Content-Type application/x-gzip", []string{"Content-Type", "application/x-gzip"}, "/page"},
		{"path ending in .gz", []string{"Content-Type", "application/octet-stream"}, "/sitemap.xml.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := bombServer(t, tt.header...)
			c := New(Options{AllowPrivateNetworks: true, IgnoreRobots: true, MaxBody: 1 << 20, Sleep: (&waits{}).sleep})
			var err error
			alloc := allocated(func() { _, err = c.Get(context.Background(), srv.URL+tt.path, Conditional{}) })
			if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "body larger than 1 MiB after decompression") {
				t.Errorf("err %v, want the decompressed size refused", err)
			}
			if alloc > 50<<20 {
				t.Errorf("allocated %d MiB for a 1 MiB cap", alloc>>20)
			}
			// A small compressed body is decoded as before.
			resp, err := c.Get(context.Background(), srv.URL+"/small"+tt.path, Conditional{})
			if err != nil || string(resp.Body) != "small and fine" {
				t.Errorf("small body: %v", err)
			}
		})
	}
}

// TestLimitTransportUnboundedReader: a reader with no limit of its own
// (colly reading robots.txt) still stops at the cap, with an error.
func TestLimitTransportUnboundedReader(t *testing.T) {
	srv := bombServer(t, "Content-Encoding", "gzip")
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 3000))
	}))
	defer plain.Close()
	hc := &http.Client{Transport: &LimitTransport{Max: 1000}}
	read := func(u string) ([]byte, error) {
		resp, err := hc.Get(u)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		return io.ReadAll(resp.Body)
	}
	var err error
	alloc := allocated(func() { _, err = read(srv.URL) })
	if !errors.Is(err, ErrTooLarge) || alloc > 50<<20 {
		t.Errorf("bomb: err %v, allocated %d MiB", err, alloc>>20)
	}
	b, err := read(plain.URL)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Inflated || len(b) != 1000 || err.Error() != "body larger than 1000 bytes" {
		t.Errorf("plain: %d bytes, err %v", len(b), err)
	}
}
