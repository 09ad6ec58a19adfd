package storage

import (
	"net/url"
	"regexp"
	"strings"
)

// masked replaces every credential in redacted text.
const masked = "xxxxx"

// RedactDSN returns dsn with its credentials masked: the password of
// user:pass@host and the values of query parameters that hold secrets
// (password, secret, token, key, ... see secretParam). It works on the raw
// text, so that a DSN that does not parse (the one most likely to end up
// in an error message) is masked too; when unsure it masks too much.
func RedactDSN(dsn string) string {
	s, _ := redactDSN(dsn)
	return s
}

// RedactText masks the credentials of every URL in s (a log line, an error
// message that echoes a DSN).
func RedactText(s string) string {
	return urlInText.ReplaceAllStringFunc(s, RedactDSN)
}

// RedactError returns err with a message that shows none of dsn's
// credentials: clickhouse-go and net/url errors can echo the DSN, or a
// piece of a password that broke its parsing. errors.Is and errors.As
// still see err (IsUnavailable needs the driver's exception).
func RedactError(err error, dsn string) error {
	if err == nil {
		return nil
	}
	_, secrets := redactDSN(dsn)
	return &redactedError{err: err, secrets: secrets}
}

type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := RedactText(e.err.Error())
	for _, s := range e.secrets {
		// Very short values would mask ordinary letters of the message;
		// a password that short is no secret anyway.
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, masked)
		}
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// urlInText finds scheme://... runs in free text; quotes, brackets and
// white space end one.
var urlInText = regexp.MustCompile("[A-Za-z][A-Za-z0-9+.-]*://[^\\s\"'`<>]+")

// redactDSN masks dsn and returns the masked values, raw and decoded, so
// that RedactError can find them wherever else they appear.
func redactDSN(dsn string) (string, []string) {
	var secrets []string
	keep := func(v string) {
		if v == "" || v == masked {
			return
		}
		secrets = append(secrets, v)
		if d, err := url.PathUnescape(v); err == nil && d != v {
			secrets = append(secrets, d)
		}
		if d, err := url.QueryUnescape(v); err == nil && d != v {
			secrets = append(secrets, d)
		}
	}
	s := dsn
	start := 0
	if i := strings.Index(s, "://"); i >= 0 {
		start = i + len("://")
	}
	// The query first: a value in it can contain "@", which the userinfo
	// step below would take for its end.
	if q := strings.Index(s[start:], "?"); q >= 0 {
		q += start
		s = s[:q+1] + redactQuery(s[q+1:], keep)
	}
	// The last "@": a password can contain an unescaped "@" (and "/", "?",
	// "#", which end the host part for a parser, so they are not looked at).
	if at := strings.LastIndex(s[start:], "@"); at >= 0 {
		at += start
		if colon := strings.Index(s[start:at], ":"); colon >= 0 {
			p := start + colon + 1
			keep(s[p:at])
			s = s[:p] + masked + s[at:]
		}
	}
	return s, secrets
}

// redactQuery masks the secret parameters of a raw query, splitting at "&"
// like url.ParseQuery. Segments without "=" after a masked value are taken
// as the rest of a secret that held an unescaped "&", and dropped.
func redactQuery(query string, keep func(string)) string {
	segs := strings.Split(query, "&")
	out := make([]string, 0, len(segs))
	masking := false
	for _, seg := range segs {
		i, key, ok := param(seg)
		switch {
		case ok && isProxyParam(key):
			// A proxy URL carries its own user:pass@.
			v := seg[i:]
			if d, err := url.QueryUnescape(v); err == nil {
				v = d
			}
			r, sec := redactDSN(v)
			for _, x := range sec {
				keep(x)
			}
			seg, masking = seg[:i]+url.QueryEscape(r), false
		case ok && secretParam(key):
			keep(seg[i:])
			seg, masking = seg[:i]+masked, true
		case masking && !strings.Contains(seg, "="):
			keep(seg)
			continue
		default:
			masking = false
		}
		out = append(out, seg)
	}
	return strings.Join(out, "&")
}

// param finds a secret or proxy parameter in a query segment: its key,
// decoded and in lower case, and where its value starts. It looks after
// every "?" in the segment too: the query begins at the first "?", which may
// have been inside a password.
func param(seg string) (int, string, bool) {
	for p := 0; ; {
		if k, _, ok := strings.Cut(seg[p:], "="); ok {
			if d, err := url.QueryUnescape(k); err == nil {
				k = d
			}
			if k = strings.ToLower(k); secretParam(k) || isProxyParam(k) {
				return p + strings.Index(seg[p:], "=") + 1, k, true
			}
		}
		q := strings.Index(seg[p:], "?")
		if q < 0 {
			return 0, "", false
		}
		p += q + 1
	}
}

// secretParam reports query parameters whose values are credentials:
// password=, secret=, token=, key= and their relatives (access_key,
// client_secret, auth_token, jwt, ...).
func secretParam(key string) bool {
	for _, w := range []string{"pass", "pwd", "secret", "token", "key", "auth", "credential", "jwt", "signature"} {
		if strings.Contains(key, w) {
			return true
		}
	}
	return false
}

func isProxyParam(key string) bool { return strings.HasSuffix(key, "proxy") }
