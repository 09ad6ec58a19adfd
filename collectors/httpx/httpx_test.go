package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// waits records the client's sleeps instead of sleeping.
type waits struct {
	mu sync.Mutex
	ds []time.Duration
}

func (w *waits) sleep(_ context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ds = append(w.ds, d)
	return nil
}

func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "User-agent: *\nDisallow: /private\n")
	})
	mux.HandleFunc("/", h)
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		responses []int // status per attempt; the last repeats
		header    string
		wantErr   int // final status error, 0 for success
		wantCalls int
		check     func(*testing.T, []time.Duration)
	}{
		{"429 with Retry-After", []int{429, 200}, "3", 0, 2, func(t *testing.T, ds []time.Duration) {
			if len(ds) != 1 || ds[0] < 3*time.Second || ds[0] > 3*time.Second+time.Second {
				t.Errorf("waits %v, want one of 3s", ds)
			}
		}},
		{"503 then ok, jittered backoff", []int{503, 502, 200}, "", 0, 3, func(t *testing.T, ds []time.Duration) {
			if len(ds) != 2 || ds[0] > 100*time.Millisecond || ds[1] > 200*time.Millisecond {
				t.Errorf("waits %v, want two within the exponential bounds", ds)
			}
		}},
		{"500 forever gives up", []int{500}, "", 500, 4, nil},
		{"404 is final", []int{404}, "", 404, 1, func(t *testing.T, ds []time.Duration) {
			if len(ds) != 0 {
				t.Errorf("waited %v before a final 404", ds)
			}
		}},
		{"Retry-After capped", []int{429, 200}, "86400", 0, 2, func(t *testing.T, ds []time.Duration) {
			if len(ds) != 1 || ds[0] != time.Minute {
				t.Errorf("waits %v, want the 1m cap", ds)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			calls := 0
			srv := server(t, func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				code := tt.responses[min(calls, len(tt.responses)-1)]
				calls++
				mu.Unlock()
				if tt.header != "" {
					w.Header().Set("Retry-After", tt.header)
				}
				w.WriteHeader(code)
				fmt.Fprint(w, "body")
			})
			wt := &waits{}
			c := New(Options{AllowPrivateNetworks: true, BaseBackoff: 100 * time.Millisecond, MaxWait: time.Minute, Sleep: wt.sleep})
			resp, err := c.Get(context.Background(), srv.URL+"/x", Conditional{})
			var se *StatusError
			switch {
			case tt.wantErr == 0 && (err != nil || string(resp.Body) != "body"):
				t.Errorf("err %v", err)
			case tt.wantErr != 0 && (!errors.As(err, &se) || se.Code != tt.wantErr):
				t.Errorf("err %v, want HTTP %d", err, tt.wantErr)
			}
			if calls != tt.wantCalls {
				t.Errorf("%d calls, want %d", calls, tt.wantCalls)
			}
			if tt.check != nil {
				tt.check(t, wt.ds)
			}
		})
	}
}

func TestPoliteness(t *testing.T) {
	var mu sync.Mutex
	var uas []string
	hits := map[string]int{}
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "elsewhere") }))
	defer other.Close()
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits[r.URL.Path]++
		uas = append(uas, r.UserAgent())
		mu.Unlock()
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/", http.StatusFound)
		case "/big":
			fmt.Fprint(w, strings.Repeat("x", 2000))
		case "/etag":
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", `"v1"`)
			fmt.Fprint(w, "fresh")
		default:
			fmt.Fprint(w, "ok")
		}
	})
	wt := &waits{}
	host := strings.TrimPrefix(srv.URL, "http://")
	c := New(Options{AllowPrivateNetworks: true, UserAgent: "earshot-test/1", MaxBody: 1000, HostDelay: 2 * time.Second, Sleep: wt.sleep,
		AllowedHosts: []string{strings.Split(host, ":")[0]}})
	ctx := context.Background()

	if _, err := c.Get(ctx, srv.URL+"/private/page", Conditional{}); !errors.Is(err, ErrDisallowed) || hits["/private/page"] != 0 {
		t.Errorf("robots: err %v, hits %d", err, hits["/private/page"])
	}
	if _, err := c.Get(ctx, srv.URL+"/big", Conditional{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("big body: %v", err)
	}
	// The other server listens on the same loopback IP: allow by host name only.
	c2 := New(Options{AllowPrivateNetworks: true, UserAgent: "earshot-test/1", Sleep: wt.sleep, AllowedHosts: []string{"localhost"}})
	if _, err := c2.Get(ctx, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)+"/away", Conditional{}); !errors.Is(err, ErrHost) {
		t.Errorf("off-host redirect: %v", err)
	}
	r1, err := c.Get(ctx, srv.URL+"/etag", Conditional{})
	if err != nil || string(r1.Body) != "fresh" {
		t.Fatalf("etag first: %v", err)
	}
	r2, err := c.Get(ctx, srv.URL+"/etag", r1.Validators())
	if err != nil || !r2.NotModified {
		t.Errorf("conditional request: %v, not modified %v", err, r2 != nil && r2.NotModified)
	}
	for _, ua := range uas {
		if ua != "earshot-test/1" {
			t.Errorf("User-Agent %q", ua)
		}
	}
	// Every request after the first waited for the host delay.
	paced := 0
	for _, d := range wt.ds {
		if d > time.Second {
			paced++
		}
	}
	if paced < 3 {
		t.Errorf("waits %v: want the 2s host delay between requests", wt.ds)
	}
	if _, err := c.Get(ctx, "ftp://x/", Conditional{}); err == nil {
		t.Error("ftp URL accepted")
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": []string{now.Add(90 * time.Second).Format(http.TimeFormat)}}
	if d := retryAfter(h, now); d != 90*time.Second {
		t.Errorf("retryAfter = %v", d)
	}
}

func TestRetryTransport(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n < 3 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	wt := &waits{}
	hc := &http.Client{Transport: &RetryTransport{Sleep: wt.sleep}}
	resp, err := hc.Get(srv.URL)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v %v", resp, err)
	}
	resp.Body.Close()
	if calls != 3 || len(wt.ds) != 2 || wt.ds[0] < 2*time.Second {
		t.Errorf("calls %d waits %v", calls, wt.ds)
	}
}
