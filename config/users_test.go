package config

import (
	"strings"
	"testing"
)

func TestUsersValidate(t *testing.T) {
	base := "brands:\n  - name: Sunrise\n    keywords: [sunrise]\n    locations: [{name: Zagreb}]\nusers:\n"
	hash := "$2a$04$wEtn6nJWjQUq4udRrwCxo.HaeERpX8cZxp3ax6GcxbUstXQgSgLM6"
	tests := []struct {
		name, users, want string
	}{
		{"ok", "  - {name: ana, role: agent, password_hash: '" + hash + "', locations: [Zagreb]}\n", ""},
		{"no hash", "  - {name: ana, role: agent}\n", "test.yaml:6: users[0].password_hash: required"},
		{"plain password", "  - {name: ana, password_hash: secret}\n", "not a bcrypt hash"},
		{"bad role", "  - {name: ana, role: boss, password_hash: '" + hash + "'}\n", "users[0].role: unknown role \"boss\""},
		{"unknown location", "  - {name: ana, password_hash: '" + hash + "',\n     locations: [Manila]}\n", "test.yaml:7: users[0].locations[0]: unknown location \"Manila\""},
		{"twice", "  - {name: ana, password_hash: '" + hash + "'}\n  - {name: ana, password_hash: '" + hash + "'}\n", "user \"ana\" defined twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("test.yaml", []byte(base+tt.users), Schema{})
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if u := c.UserByName("ana"); u == nil || u.Role != "agent" {
					t.Errorf("user: %+v", u)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}
