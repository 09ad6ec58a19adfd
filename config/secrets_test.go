package config

import (
	"errors"
	"strings"
	"testing"
)

// TestLinkKeyStrength: server.link_key must be at least 32 bytes and not
// an obvious pattern; the error names the line and says how to make one,
// without printing the key.
func TestLinkKeyStrength(t *testing.T) {
	tests := []struct {
		name, key string
		want      string // error prefix; "" for valid
	}{
		{"one character", "k", "x.yaml:3: server.link_key: too short (1 bytes): need at least 32 random bytes"},
		{"31 bytes", "Zx8#kQ2!mW9@pL4$vR7%tY1^bN6&cJ3", "x.yaml:3: server.link_key: too short (31 bytes)"},
		{"repeated word", strings.Repeat("changeme", 4), "x.yaml:3: server.link_key: not random (only 7 distinct characters)"},
		{"32 random bytes", "Zx8#kQ2!mW9@pL4$vR7%tY1^bN6&cJ3*", ""},
		{"openssl rand -base64 48", "q3n6ZkzYV1fJ8m0Yx5b9oQhXcH2Vt7sLr4eGd1uAwPiK0TjN8yBv3MfC6lRsE9Da", ""},
		{"openssl rand -hex 32", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "server:\n  base_url: https://earshot.example.com\n  link_key: ${LINK_KEY}\n"
			_, err := Parse("x.yaml", []byte(yaml), testSchema(map[string]string{"LINK_KEY": tt.key}))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("valid key rejected: %v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("err = %v, want one config error", err)
			}
			if msg := err.Error(); !strings.HasPrefix(msg, tt.want) || !strings.Contains(msg, "openssl rand -base64 48") {
				t.Errorf("error %q\nwant prefix %q and the openssl hint", msg, tt.want)
			}
			if len(tt.key) > 4 && strings.Contains(err.Error(), tt.key) {
				t.Errorf("error prints the key: %v", err)
			}
		})
	}
	// No key at all is fine: alerts then carry no links.
	if _, err := Parse("x.yaml", []byte("server:\n  listen: 127.0.0.1:1\n"), testSchema(nil)); err != nil {
		t.Errorf("no link_key: %v", err)
	}
}

// TestWebhookCredentialHeaders: a webhook header that carries a credential
// must be ${VAR} (optionally after its auth scheme), like every secret.
func TestWebhookCredentialHeaders(t *testing.T) {
	env := map[string]string{"HOOK_TOKEN": "s3cr3t-t0k3n", "AUTH": "Bearer s3cr3t"}
	tests := []struct {
		name, header, value string
		want                string // error prefix; "" for valid
	}{
		{"literal bearer", "Authorization", "Bearer abc123", "x.yaml:6: receivers[0].headers.Authorization: looks like a credential"},
		{"literal basic", "Authorization", "Basic dXNlcjpwYXNz", "x.yaml:6: receivers[0].headers.Authorization: looks like a credential"},
		{"proxy authorization", "Proxy-Authorization", "abc", "x.yaml:6: receivers[0].headers.Proxy-Authorization: looks like a credential"},
		{"api key", "X-Api-Key", "abc123", "x.yaml:6: receivers[0].headers.X-Api-Key: looks like a credential"},
		{"lower case name", "x-auth-token", "abc123", "x.yaml:6: receivers[0].headers.x-auth-token: looks like a credential"},
		{"secret in name", "X-Hook-Secret", "abc123", "x.yaml:6: receivers[0].headers.X-Hook-Secret: looks like a credential"},
		{"password in name", "X-Password", "abc123", "x.yaml:6: receivers[0].headers.X-Password: looks like a credential"},
		{"bearer value, harmless name", "X-Custom", "Bearer abc123", "x.yaml:6: receivers[0].headers.X-Custom: looks like a credential"},
		{"token value", "X-Custom", "token abc123", "x.yaml:6: receivers[0].headers.X-Custom: looks like a credential"},
		{"default is a literal", "Authorization", "${NOPE:-Bearer abc123}", "x.yaml:6: receivers[0].headers.Authorization: looks like a credential"},
		{"variable inside literal", "Authorization", "Bearer abc${HOOK_TOKEN}", "x.yaml:6: receivers[0].headers.Authorization: looks like a credential"},
		{"env var", "Authorization", "${AUTH}", ""},
		{"scheme and env var", "Authorization", "Bearer ${HOOK_TOKEN}", ""},
		{"api key from env", "X-Api-Key", "${HOOK_TOKEN}", ""},
		{"unset env var", "X-Api-Key", "${UNSET_TOKEN}", "x.yaml:6: receivers[0].headers.X-Api-Key: environment variable UNSET_TOKEN is not set"},
		{"ordinary header", "X-Team", "front-desk", ""},
		{"ordinary header from env", "X-Team", "${HOOK_TOKEN}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := "receivers:\n  - name: hook\n    kind: webhook\n    url: https://hooks.example.com/in\n    headers:\n      " +
				tt.header + ": \"" + tt.value + "\"\n"
			c, err := Parse("x.yaml", []byte(yaml), testSchema(env))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				if c.Receivers[0].Options.(*hookOptions).Headers[tt.header] == "" {
					t.Errorf("header %s not decoded", tt.header)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("err = %v, want one config error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\nwant prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "abc123") {
				t.Errorf("error prints the value: %v", err)
			}
		})
	}
}

// TestWebhookHeadersThroughAlias: an anchor shared by receivers is checked
// where it is used.
func TestWebhookHeadersThroughAlias(t *testing.T) {
	yaml := `
receivers:
  - name: a
    kind: webhook
    url: https://a.example.com/
    headers: &h
      X-Api-Key: abc123
  - name: b
    kind: webhook
    url: https://b.example.com/
    headers: *h
`
	_, err := Parse("x.yaml", []byte(yaml), testSchema(nil))
	if err == nil || !strings.Contains(err.Error(), "receivers[0].headers.X-Api-Key: looks like a credential") ||
		!strings.Contains(err.Error(), "receivers[1].headers.X-Api-Key: looks like a credential") {
		t.Errorf("err = %v", err)
	}
}
