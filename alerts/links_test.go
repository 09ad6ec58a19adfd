package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVerifyCapsExpiry: a correctly signed token whose expiry lies further
// ahead than the signer's TTL (plus ClockSkew) is refused, however it was
// made (a forged token, one signed with a longer TTL).
func TestVerifyCapsExpiry(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	key := []byte("0123456789abcdef0123456789abcdef")
	// sign makes a token with an arbitrary expiry, as someone holding the key
	// (or an older config with a longer TTL) could.
	sign := func(exp time.Time) string {
		payload := "case:x|ack|" + strconv.FormatInt(exp.Unix(), 10)
		m := hmac.New(sha256.New, key)
		m.Write([]byte(payload))
		return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	tests := []struct {
		name string
		ttl  time.Duration
		exp  time.Time
		want error
	}{
		{"within ttl", time.Hour, now.Add(30 * time.Minute), nil},
		{"exactly ttl", time.Hour, now.Add(time.Hour), nil},
		{"ttl plus skew", time.Hour, now.Add(time.Hour + ClockSkew), nil},
		{"beyond ttl and skew", time.Hour, now.Add(time.Hour + ClockSkew + time.Second), ErrBadToken},
		{"year 3000", time.Hour, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC), ErrBadToken},
		{"max int64", time.Hour, time.Unix(1<<62, 0), ErrBadToken},
		{"default ttl, 6 days", 0, now.Add(6 * 24 * time.Hour), nil},
		{"default ttl, 30 days", 0, now.Add(30 * 24 * time.Hour), ErrBadToken},
		{"expired", time.Hour, now.Add(-time.Second), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Signer{Key: key, TTL: tt.ttl, Now: func() time.Time { return now }}
			c, a, err := s.Verify(sign(tt.exp))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("Verify = %q %q %v, want %v", c, a, err, tt.want)
			}
			if err == nil && (c != "case:x" || a != "ack") {
				t.Errorf("Verify = %q %q", c, a)
			}
		})
	}
	// A token of its own always verifies, whatever the TTL.
	for _, ttl := range []time.Duration{0, time.Minute, 30 * 24 * time.Hour} {
		s := &Signer{Key: key, TTL: ttl, Now: func() time.Time { return now }}
		if _, _, err := s.Verify(s.Token("case:y", "resolve")); err != nil {
			t.Errorf("ttl %s: own token: %v", ttl, err)
		}
	}
}

// TestNotAComplaintLink: the "not a complaint" link verifies as its own
// action; one forged, signed with another key or expired is refused; the
// link that goes with a resolve link is derived only from one of ours.
func TestNotAComplaintLink(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s := &Signer{Key: []byte("k1"), BaseURL: "https://e.test/", TTL: time.Hour, Now: func() time.Time { return now }}
	link := s.NotAComplaintLink("case:story:abc")
	u, err := url.Parse(link)
	if err != nil || u.Host != "e.test" || u.Path != "/case/not-a-complaint" {
		t.Fatalf("link %q: %v", link, err)
	}
	tok := u.Query().Get("t")
	if c, a, err := s.Verify(tok); err != nil || c != "case:story:abc" || a != ActionNotAComplaint {
		t.Fatalf("verify: %q %q %v", c, a, err)
	}
	forged := base64.RawURLEncoding.EncodeToString([]byte("case:other|"+ActionNotAComplaint+"|"+strconv.FormatInt(now.Add(time.Minute).Unix(), 10))) +
		tok[strings.Index(tok, "."):]
	other := &Signer{Key: []byte("k2"), Now: s.Now}
	for name, bad := range map[string]string{"forged case": forged, "other key": other.Token("case:story:abc", ActionNotAComplaint)} {
		if _, _, err := s.Verify(bad); !errors.Is(err, ErrBadToken) {
			t.Errorf("%s: %v", name, err)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, _, err := s.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v", err)
	}

	_, resolve := s.Links("case:x")
	for _, tc := range []struct{ in, want string }{
		{resolve, strings.Replace(resolve, "/case/resolve?", "/case/not-a-complaint?", 1)},
		{"https://e.test/base/case/resolve?t=abc", "https://e.test/base/case/not-a-complaint?t=abc"},
		{"https://e.test/case/ack?t=abc", ""},
		{"https://e.test/case/resolve", ""},
		{"javascript:alert(1)//case/resolve?t=abc", ""},
		{"", ""},
	} {
		if got := NotAComplaintURL(tc.in); got != tc.want {
			t.Errorf("NotAComplaintURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestMessageNotAComplaintLink: mails carry the link, in both bodies,
// only when they carry signed links at all.
func TestMessageNotAComplaintLink(t *testing.T) {
	s := &Signer{Key: []byte("k1"), BaseURL: "https://e.test"}
	ack, resolve := s.Links("case:1")
	m := Sample(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	for _, compact := range []bool{false, true} {
		for _, linked := range []bool{false, true} {
			msg := m
			msg.Compact = compact
			msg.Cases = append([]Case(nil), m.Cases...)
			if linked {
				msg.Cases[0].AckURL, msg.Cases[0].ResolveURL = ack, resolve
			}
			html, err := HTML(msg)
			if err != nil {
				t.Fatal(err)
			}
			want := NotAComplaintURL(resolve)
			inText := strings.Contains(Text(msg), "Not a complaint") && strings.Contains(Text(msg), want)
			inHTML := strings.Contains(html, ">Not a complaint</a>") && strings.Contains(html, template.HTMLEscapeString(want))
			if inText != linked || inHTML != linked {
				t.Errorf("compact %v, links %v: in text %v, in html %v", compact, linked, inText, inHTML)
			}
		}
	}
}
