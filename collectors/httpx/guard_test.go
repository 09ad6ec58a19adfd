package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestGuardCheck(t *testing.T) {
	refused := []string{
		"127.0.0.1:80", "127.1.2.3:80", "[::1]:443", "[::ffff:127.0.0.1]:80", // loopback, IPv4-mapped too
		"10.1.2.3:80", "172.16.0.1:80", "192.168.1.1:80", "[fc00::1]:80", "[fd00:ec2::254]:80", // private
		"169.254.169.254:80", "[fe80::1]:80", "[fe80::1%eth0]:80", // link-local, the metadata service
		"0.0.0.0:80", "[::]:80", "224.0.0.1:80", "[ff02::1]:80", // unspecified, multicast
		"100.100.100.200:80", "255.255.255.255:80", "[64:ff9b::a9fe:a9fe]:80", // CGNAT, broadcast, NAT64 of 169.254.169.254
	}
	for _, a := range refused {
		ap := netip.MustParseAddrPort(a)
		if err := (Guard{}).Check(ap); !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("%s: %v, want refused", a, err)
		}
		if err := (Guard{AllowPrivate: true}).Check(ap); err != nil {
			t.Errorf("%s with private networks allowed: %v", a, err)
		}
	}
	for _, a := range []string{"93.184.215.14:443", "8.8.8.8:53", "[2606:4700::1111]:443", "[64:ff9b::808:808]:80"} {
		if err := (Guard{}).Check(netip.MustParseAddrPort(a)); err != nil {
			t.Errorf("%s: %v, want allowed", a, err)
		}
	}
	// An exception admits its exact address and port only.
	g := Guard{Allow: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8080")}}
	if err := g.Check(netip.MustParseAddrPort("127.0.0.1:8080")); err != nil {
		t.Errorf("allowed address: %v", err)
	}
	if err := g.Check(netip.MustParseAddrPort("127.0.0.1:8081")); !errors.Is(err, ErrPrivateAddress) {
		t.Errorf("other port of the allowed address: %v", err)
	}
}

func TestHostsAllows(t *testing.T) {
	tests := []struct {
		entries []string
		url     string
		want    bool
	}{
		{[]string{"example.com"}, "https://example.com/x", true},
		{[]string{"example.com"}, "http://EXAMPLE.com/x", true},
		{[]string{"example.com"}, "https://example.com:443/x", true},
		{[]string{"example.com"}, "https://example.com:8443/x", false},
		{[]string{"example.com"}, "http://example.com:6379/", false},
		{[]string{"example.com:8443"}, "https://example.com:8443/x", true},
		{[]string{"example.com:8443"}, "https://example.com/x", false},
		{[]string{"*.example.com"}, "https://www.example.com/", true},
		{[]string{"*.example.com"}, "https://www.example.com:22/", false},
		{[]string{"*.example.com"}, "https://evilexample.com/", false},
		{[]string{"[::1]:8080"}, "http://[::1]:8080/", true},
		{[]string{"::1"}, "http://[::1]/", true},
		{[]string{"127.0.0.1:1"}, "http://127.0.0.1:2/", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		if got := Hosts(tt.entries).Allows(u); got != tt.want {
			t.Errorf("%v allows %s = %v, want %v", tt.entries, tt.url, got, tt.want)
		}
	}
}

// counter is a server that counts its requests.
func counter(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestRedirectOtherPort: a redirect to another port of an allowed host is
// another service, and refused.
func TestRedirectOtherPort(t *testing.T) {
	other, otherHits := counter(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "internal") })
	srv, _ := counter(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/admin", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/page", http.StatusFound)
		default:
			fmt.Fprint(w, "page")
		}
	})
	ctx := context.Background()
	c := New(Options{AllowPrivateNetworks: true, IgnoreRobots: true, AllowedHosts: []string{"127.0.0.1"}, Sleep: (&waits{}).sleep})
	if _, err := c.Get(ctx, srv.URL+"/away", Conditional{}); !errors.Is(err, ErrHost) || otherHits.Load() != 0 {
		t.Errorf("redirect to another port: err %v, %d requests reached it", err, otherHits.Load())
	}
	if resp, err := c.Get(ctx, srv.URL+"/here", Conditional{}); err != nil || string(resp.Body) != "page" {
		t.Errorf("redirect on the same server: %v", err)
	}
	// Listed with its port, the other server may be redirected to.
	c = New(Options{AllowPrivateNetworks: true, IgnoreRobots: true, AllowedHosts: []string{"127.0.0.1", other.Listener.Addr().String()}})
	if resp, err := c.Get(ctx, srv.URL+"/away", Conditional{}); err != nil || string(resp.Body) != "internal" {
		t.Errorf("redirect to a listed host:port: %v", err)
	}
}

// TestPrivateAddressRefused: a name resolving to loopback, or the metadata
// service's address, is refused at dial time unless private networks are
// allowed, and not retried.
func TestPrivateAddressRefused(t *testing.T) {
	srv, hits := counter(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "secret") })
	viaName := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1) + "/"
	wt := &waits{}
	c := New(Options{Timeout: 2 * time.Second, Sleep: wt.sleep})
	for _, u := range []string{viaName, "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/"} {
		start := time.Now()
		_, err := c.Get(context.Background(), u, Conditional{})
		if !errors.Is(err, ErrPrivateAddress) || !strings.Contains(err.Error(), "collect.allow_private_networks") {
			t.Errorf("%s: %v, want refused", u, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v; the dial check should refuse before connecting", u, d)
		}
	}
	if hits.Load() != 0 || len(wt.ds) != 0 {
		t.Errorf("%d requests reached the server, %d retries", hits.Load(), len(wt.ds))
	}
	c = New(Options{AllowPrivateNetworks: true, Timeout: 2 * time.Second, Sleep: wt.sleep})
	if resp, err := c.Get(context.Background(), viaName, Conditional{}); err != nil || string(resp.Body) != "secret" {
		t.Errorf("with allow_private_networks: %v", err)
	}
}
