package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestRedactDSN(t *testing.T) {
	tests := []struct {
		name, dsn, want string
		hidden          []string // must not appear
	}{
		{"no credentials", "clickhouse://h:9000/db?dial_timeout=5s", "clickhouse://h:9000/db?dial_timeout=5s", nil},
		{"userinfo", "clickhouse://u:s3cret@h:9000/db", "clickhouse://u:xxxxx@h:9000/db", []string{"s3cret"}},
		{"user only", "clickhouse://u@h:9000/db", "clickhouse://u@h:9000/db", nil},
		{"password param", "clickhouse://h:9000/db?username=u&password=s3cret&dial_timeout=5s",
			"clickhouse://h:9000/db?username=u&password=xxxxx&dial_timeout=5s", []string{"s3cret"}},
		{"secret token key params", "clickhouse://h/db?secret=aaa1&token=bbb2&key=ccc3&access_key=ddd4&client_secret=eee5",
			"clickhouse://h/db?secret=xxxxx&token=xxxxx&key=xxxxx&access_key=xxxxx&client_secret=xxxxx", []string{"aaa1", "bbb2", "ccc3", "ddd4", "eee5"}},
		{"upper-case and escaped key", "clickhouse://h/db?PASSWORD=aaa1&pass%77ord=bbb2", "clickhouse://h/db?PASSWORD=xxxxx&pass%77ord=xxxxx", []string{"aaa1", "bbb2"}},
		{"both forms", "clickhouse://u:p4ss@h:9000/db?password=p5ss", "clickhouse://u:xxxxx@h:9000/db?password=xxxxx", []string{"p4ss", "p5ss"}},
		{"unescaped @ in password", "clickhouse://u:p@ss@h:9000/db", "clickhouse://u:xxxxx@h:9000/db", []string{"p@ss"}},
		{"unescaped / in password (does not parse)", "clickhouse://u:pa/ss@h:9000/db", "clickhouse://u:xxxxx@h:9000/db", []string{"pa/ss"}},
		{"unescaped ? in password", "clickhouse://u:pa?ss@h:9000/db", "clickhouse://u:xxxxx@h:9000/db", []string{"pa?ss"}},
		{"unescaped & in password param", "clickhouse://h/db?password=ab&cd&debug=true", "clickhouse://h/db?password=xxxxx&debug=true", []string{"ab&cd"}},
		{"@ in password param", "clickhouse://h:9000/db?password=a@b1", "clickhouse://h:9000/db?password=xxxxx", []string{"a@b1"}},
		{"bad escape elsewhere", "clickhouse://u:s3cret@h:9000/db?x=%zz&token=t0ken", "clickhouse://u:xxxxx@h:9000/db?x=%zz&token=xxxxx", []string{"s3cret", "t0ken"}},
		{"proxy credentials", "http://h:8123/db?http_proxy=" + url.QueryEscape("http://pu:pr0xy@proxy:3128"),
			"http://h:8123/db?http_proxy=" + url.QueryEscape("http://pu:xxxxx@proxy:3128"), []string{"pr0xy"}},
		{"no scheme", "u:s3cret@h:9000", "u:xxxxx@h:9000", []string{"s3cret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RedactDSN(tt.dsn)
			if got != tt.want {
				t.Errorf("RedactDSN(%q)\n = %q\nwant %q", tt.dsn, got, tt.want)
			}
			for _, h := range tt.hidden {
				if strings.Contains(got, h) {
					t.Errorf("%q still shows %q", got, h)
				}
			}
		})
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{`dial clickhouse://u:s3cret@h:9000/db: refused`, `dial clickhouse://u:xxxxx@h:9000/db: refused`},
		{`parse "clickhouse://h/db?token=t0k&x=%zz": invalid URL escape "%zz"`, `parse "clickhouse://h/db?token=xxxxx&x=%zz": invalid URL escape "%zz"`},
		{"two: http://a:b1b1@x and https://c:d2d2@y/?key=k3k3", "two: http://a:xxxxx@x and https://c:xxxxx@y/?key=xxxxx"},
		{"no url here: password=foo", "no url here: password=foo"},
	}
	for _, tt := range tests {
		if got := RedactText(tt.in); got != tt.want {
			t.Errorf("RedactText(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

// TestRedactError: whatever the error echoes of the DSN (all of it, or only
// the password that broke its parsing), its message shows no credential,
// and errors.Is/As still reach the cause.
func TestRedactError(t *testing.T) {
	cause := &clickhouse.Exception{Code: 516, Message: "auth failed"}
	tests := []struct {
		name, dsn string
		err       error
		hidden    []string
	}{
		{"whole DSN", "clickhouse://u:s3cret@h:9000/db?token=t0ken", fmt.Errorf(`open "clickhouse://u:s3cret@h:9000/db?token=t0ken": %w`, cause), []string{"s3cret", "t0ken"}},
		{"password alone", "clickhouse://u:pa/ss1@h:9000/db", fmt.Errorf(`invalid port ":pa/ss1": %w`, cause), []string{"pa/ss1"}},
		{"decoded password", "clickhouse://u:p%40ss1@h:9000/db", fmt.Errorf("user u with password p@ss1: %w", cause), []string{"p@ss1", "p%40ss1"}},
		{"query secret alone", "clickhouse://h/db?secret=verysecret", fmt.Errorf("setting verysecret rejected: %w", cause), []string{"verysecret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := RedactError(tt.err, tt.dsn)
			for _, h := range tt.hidden {
				if strings.Contains(err.Error(), h) {
					t.Errorf("%q shows %q", err, h)
				}
			}
			var ex *clickhouse.Exception
			if !errors.Is(err, cause) || !errors.As(err, &ex) || IsUnavailable(err) {
				t.Errorf("cause lost: %v", err)
			}
		})
	}
	if RedactError(nil, "clickhouse://u:p@h") != nil {
		t.Error("RedactError(nil) != nil")
	}
}

// TestOpenRedactsDSN: Open's errors name the DSN without its secrets, for
// a DSN that parses and for one that does not. The driver's own part of a
// parse error can still echo a query secret: RedactError (as cmd/earshot
// applies it) masks that too.
func TestOpenRedactsDSN(t *testing.T) {
	tests := []struct {
		name, dsn string
		wrap      bool
		hidden    []string
	}{
		{"query token", "clickhouse://u:s3cret@127.0.0.1:1/db?token=t0ken", false, []string{"s3cret", "t0ken"}},
		{"password param", "clickhouse://127.0.0.1:1/db?password=s3cret", false, []string{"s3cret"}},
		{"does not parse", "clickhouse://u:pa/ss1@127.0.0.1:1/db", false, []string{"pa/ss1"}},
		{"does not parse, query token", "clickhouse://u:pa/ss1@127.0.0.1:1/db?token=t0ken", true, []string{"pa/ss1", "t0ken"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(context.Background(), tt.dsn, nil)
			if err == nil {
				t.Fatalf("Open(%q) succeeded", tt.dsn)
			}
			if tt.wrap {
				err = RedactError(err, tt.dsn)
			}
			for _, h := range tt.hidden {
				if strings.Contains(err.Error(), h) {
					t.Errorf("error shows %q: %v", h, err)
				}
			}
		})
	}
}
