package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestUsersHash(t *testing.T) {
	for _, tt := range []struct {
		in   string
		code int
	}{{"a long passphrase\n", 0}, {"short\n", 2}, {"", 2}} {
		var out, errOut bytes.Buffer
		code := runIO(context.Background(), []string{"users", "hash"}, strings.NewReader(tt.in), &out, &errOut)
		if code != tt.code {
			t.Fatalf("%q: exit %d\n%s", tt.in, code, errOut.String())
		}
		if code == 0 {
			h := strings.TrimSpace(out.String())
			if err := bcrypt.CompareHashAndPassword([]byte(h), []byte("a long passphrase")); err != nil || strings.Contains(out.String(), "passphrase") {
				t.Errorf("hash %q: %v", h, err)
			}
		}
	}
}
