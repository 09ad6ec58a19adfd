package config

import (
	"fmt"
	"slices"
	"strings"
)

// User may sign in to the web inbox (a form) and the API (HTTP Basic
// auth). PasswordHash is a bcrypt hash (`earshot users hash`); the
// password itself is never in the config. Brands and Locations limit what
// the user sees and acts on (empty: all).
type User struct {
	Name         string   `yaml:"name"`
	Email        string   `yaml:"email"`
	PasswordHash string   `yaml:"password_hash"`
	Role         string   `yaml:"role"` // viewer, agent or admin
	Brands       []string `yaml:"brands"`
	Locations    []string `yaml:"locations"`
}

// Roles a user may have: viewers read, agents also act, admins also act
// (the role that later issues give configuration rights).
var Roles = []string{"viewer", "agent", "admin"}

// UserByName returns the named user or nil.
func (c *Config) UserByName(n string) *User {
	return find(c.Users, func(u *User) bool { return u.Name == n })
}

func (c *Config) validateUsers(d *decoder) {
	names := map[string]bool{}
	locations := map[string]bool{}
	brands := map[string]bool{}
	for _, b := range c.Brands {
		brands[b.Name] = true
		for _, l := range b.Locations {
			locations[l.Name] = true
		}
	}
	for i := range c.Users {
		u := &c.Users[i]
		p := fmt.Sprintf("users[%d]", i)
		uniqueName(d, p+".name", "user", u.Name, names)
		if strings.ContainsAny(u.Name, ":\r\n") {
			d.at(p+".name", "must not contain ':' or a line break (it is the HTTP Basic auth user name)")
		}
		if u.Email != "" && !strings.Contains(u.Email, "@") {
			d.at(p+".email", "%q is not an email address", u.Email)
		}
		h := u.PasswordHash
		switch {
		case h == "":
			d.at(p+".password_hash", "required: a bcrypt hash from `earshot users hash`")
		case !(strings.HasPrefix(h, "$2a$") || strings.HasPrefix(h, "$2b$") || strings.HasPrefix(h, "$2y$")) || len(h) != 60:
			d.at(p+".password_hash", "not a bcrypt hash (want $2a$/$2b$..., 60 characters): make one with `earshot users hash`")
		}
		if u.Role == "" {
			u.Role = "viewer"
		}
		if !slices.Contains(Roles, u.Role) {
			d.at(p+".role", "unknown role %q (want %s)", u.Role, strings.Join(Roles, ", "))
		}
		for j, b := range u.Brands {
			if !brands[b] {
				d.at(fmt.Sprintf("%s.brands[%d]", p, j), "unknown brand %q", b)
			}
		}
		for j, l := range u.Locations {
			if !locations[l] {
				d.at(fmt.Sprintf("%s.locations[%d]", p, j), "unknown location %q", l)
			}
		}
	}
}
