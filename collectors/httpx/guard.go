package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// ErrPrivateAddress matches every *AddressError.
var ErrPrivateAddress = errors.New("non-public address refused")

// AddressError is a dial refused because it would reach an address on the
// operator's own network; it matches ErrPrivateAddress.
type AddressError struct {
	Kind string // loopback, private, link-local, ...
}

func (e *AddressError) Error() string {
	return fmt.Sprintf("refused %s address (collect.allow_private_networks is off)", e.Kind)
}

// Is makes errors.Is(err, ErrPrivateAddress) true.
func (e *AddressError) Is(target error) bool { return target == ErrPrivateAddress }

// Guard is the network policy of every connection a collector opens. A page
// or API answer may link or redirect to a name that resolves to loopback,
// RFC 1918 space or the cloud metadata service (169.254.169.254); checking
// names cannot catch that, and DNS may answer differently at dial time, so
// Guard checks the IP actually dialled.
type Guard struct {
	// AllowPrivate admits every address (collect.allow_private_networks).
	AllowPrivate bool
	// Allow admits these exact addresses even when private: a server the
	// caller started itself, such as the demo site.
	Allow []netip.AddrPort
}

// Check returns an *AddressError when ap may not be dialled.
func (g Guard) Check(ap netip.AddrPort) error {
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if g.AllowPrivate || slices.Contains(g.Allow, ap) {
		return nil
	}
	if why := special(ap.Addr()); why != "" {
		return &AddressError{Kind: why}
	}
	return nil
}

// control is a net.Dialer Control hook: it runs after name resolution, for
// each address tried, before the connection is made.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &AddressError{Kind: "unparseable"} // fail closed
	}
	return g.Check(ap)
}

// Transport returns an http.Transport whose every dial passes g. It does
// not use HTTP(S)_PROXY unless private networks are allowed: a proxy
// resolves names itself, out of the guard's sight.
func (g Guard) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if !g.AllowPrivate {
		t.Proxy = nil
	}
	t.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.control}).DialContext
	return t
}

// Ranges netip's predicates do not cover but that are no place for a
// collector either.
var reserved = []struct {
	p   netip.Prefix
	why string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "this-network"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"}, // also Alibaba Cloud's metadata service, 100.100.100.200
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes 255.255.255.255
}

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last four bytes.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// special names the kind of a non-public address, or returns "".
func special(a netip.Addr) string {
	a = a.Unmap()
	if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte(b[12:]))
	}
	switch {
	case a.IsLoopback():
		return "loopback"
	case a.IsPrivate():
		return "private"
	case a.IsLinkLocalUnicast():
		return "link-local" // 169.254.169.254 is the cloud metadata service
	case a.IsUnspecified():
		return "unspecified"
	case a.IsMulticast():
		return "multicast"
	case !a.IsValid():
		return "invalid"
	}
	for _, r := range reserved {
		if r.p.Contains(a) {
			return r.why
		}
	}
	return ""
}

// Hosts is a list of allowed hosts: "example.com", "*.example.com" (any
// subdomain), each optionally with a port ("example.com:8443",
// "[::1]:8080"). An entry without a port admits the host on the default
// port of the URL's scheme only (80 for http, 443 for https), so that a
// page cannot send the collector to another service on the same machine.
type Hosts []string

// Allows reports whether u's host and port match an entry.
func (hs Hosts) Allows(u *url.URL) bool {
	host, port := strings.ToLower(u.Hostname()), Port(u)
	for _, e := range hs {
		eh, ep := splitEntry(e)
		if ep == "" {
			ep = defaultPort(u.Scheme)
		}
		if ep != port {
			continue
		}
		if eh == host || strings.HasPrefix(eh, "*.") && strings.HasSuffix(host, eh[1:]) {
			return true
		}
	}
	return false
}

// allowsName reports whether u's host name matches an entry, whatever the
// port of an entry without one: for the URLs a caller asks for, which come
// from the config.
func (hs Hosts) allowsName(u *url.URL) bool {
	host, port := strings.ToLower(u.Hostname()), Port(u)
	for _, e := range hs {
		eh, ep := splitEntry(e)
		if ep != "" && ep != port {
			continue
		}
		if eh == host || strings.HasPrefix(eh, "*.") && strings.HasSuffix(host, eh[1:]) {
			return true
		}
	}
	return false
}

// HostPort is u's host and port, the scheme's default port when u has
// none: the form of a Hosts entry admitting exactly u's server.
func HostPort(u *url.URL) string { return net.JoinHostPort(strings.ToLower(u.Hostname()), Port(u)) }

// Port is u's port, the scheme's default when u has none.
func Port(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(u.Scheme)
}

func defaultPort(scheme string) string {
	switch strings.ToLower(scheme) {
	case "https", "wss":
		return "443"
	default:
		return "80"
	}
}

// splitEntry splits a Hosts entry into a lower-case host and a port ("" when
// absent); IPv6 literals may be bracketed.
func splitEntry(e string) (host, port string) {
	e = strings.ToLower(strings.TrimSpace(e))
	if h, p, err := net.SplitHostPort(e); err == nil {
		return h, p
	}
	return strings.Trim(e, "[]"), ""
}
