package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Signer makes and checks the one-click links in alerts. A token names a
// case and an action and expires; its HMAC-SHA256 makes it unforgeable.
// Single use follows from the workflow: a second click finds the case
// already acknowledged or resolved.
type Signer struct {
	Key     []byte
	BaseURL string        // e.g. https://earshot.example.com
	TTL     time.Duration // default 7 days
	Now     func() time.Time
}

// Errors of Verify.
var (
	ErrBadToken = errors.New("invalid link")
	ErrExpired  = errors.New("expired link")
)

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// DefaultLinkTTL is how long a link works when Signer.TTL is zero.
const DefaultLinkTTL = 7 * 24 * time.Hour

// ClockSkew is how far ahead of this process's clock a token's expiry may
// be beyond the TTL: another worker with a slightly fast clock signed it.
const ClockSkew = 5 * time.Minute

func (s *Signer) ttl() time.Duration {
	if s.TTL <= 0 {
		return DefaultLinkTTL
	}
	return s.TTL
}

// Token signs caseID and action.
func (s *Signer) Token(caseID, action string) string {
	payload := caseID + "|" + action + "|" + strconv.FormatInt(s.now().Add(s.ttl()).Unix(), 10)
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + s.mac(payload)
}

func (s *Signer) mac(payload string) string {
	m := hmac.New(sha256.New, s.Key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Verify returns the case and action of a valid, unexpired token. A token
// that expires later than a token signed now would is refused too: no
// signer of ours made it (or the TTL has been shortened since), and a
// forged or leaked far-future token must not work for ever.
func (s *Signer) Verify(token string) (caseID, action string, err error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok {
		return "", "", ErrBadToken
	}
	raw, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil || !hmac.Equal([]byte(sig), []byte(s.mac(string(raw)))) {
		return "", "", ErrBadToken
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 {
		return "", "", ErrBadToken
	}
	exp, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return "", "", ErrBadToken
	}
	now := s.now()
	if now.Unix() > exp {
		return "", "", ErrExpired
	}
	if exp > now.Add(s.ttl()+ClockSkew).Unix() {
		return "", "", ErrBadToken
	}
	return parts[0], parts[1], nil
}

// Links returns a case's acknowledge and resolve URLs (for Notifier.Links).
func (s *Signer) Links(caseID string) (ack, resolve string) {
	base := strings.TrimRight(s.BaseURL, "/")
	return fmt.Sprintf("%s/case/ack?t=%s", base, url.QueryEscape(s.Token(caseID, "ack"))),
		fmt.Sprintf("%s/case/resolve?t=%s", base, url.QueryEscape(s.Token(caseID, "resolve")))
}

// ActionNotAComplaint is the token action of the "not a complaint" link:
// it resolves the case with outcome not_a_complaint, and so labels its
// mention for the learning scorer.
const ActionNotAComplaint = "not_a_complaint"

// NotAComplaintLink returns a case's signed "not a complaint" URL.
func (s *Signer) NotAComplaintLink(caseID string) string {
	return fmt.Sprintf("%s/case/not-a-complaint?t=%s", strings.TrimRight(s.BaseURL, "/"), url.QueryEscape(s.Token(caseID, ActionNotAComplaint)))
}

// NotAComplaintURL is the "not a complaint" link that goes with a signed
// resolve link (Signer.Links): the same token on the page that resolves
// with that outcome. A resolve token already allows every outcome, so
// this grants nothing new; "" for anything that is not one of our resolve
// links.
func NotAComplaintURL(resolveURL string) string {
	u, err := url.Parse(resolveURL)
	if err != nil || SafeURL(resolveURL) == "" || !strings.HasSuffix(u.Path, "/case/resolve") || u.Query().Get("t") == "" {
		return ""
	}
	u.Path = strings.TrimSuffix(u.Path, "/case/resolve") + "/case/not-a-complaint"
	u.RawPath = ""
	return u.String()
}

// MoreLink returns the URL of the page listing every case of a message
// whose cases were too many to list in full (for Notifier.MoreLink).
func (s *Signer) MoreLink(messageID string) string {
	return fmt.Sprintf("%s/case/more?t=%s", strings.TrimRight(s.BaseURL, "/"), url.QueryEscape(s.Token(messageID, "more")))
}

// CasePage returns the address of a case's page in the web inbox that
// earshot run serves under baseURL (/cases/{id}), for Notifier.CaseURL;
// nil without a base URL.
func CasePage(baseURL string) func(caseID string) string {
	base := strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if SafeURL(base) == "" {
		return nil
	}
	return func(caseID string) string { return base + "/cases/" + url.PathEscape(caseID) }
}
