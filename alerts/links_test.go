package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
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
