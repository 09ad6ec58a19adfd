package collectors

import (
	"testing"

	"github.com/earshot/earshot/config"
)

func TestMatcher(t *testing.T) {
	m := NewMatcher(&config.Brand{Keywords: []string{"Acme", "#acmecoffee", "Кофе Акме"}, Exclude: []string{"acme corp lawsuit"}},
		[]string{"acme café"}, []string{"wile e. coyote"})
	tests := []struct {
		text string
		want bool
	}{
		{"Acme's latte was cold", true},
		{"loved it #AcmeCoffee!", true},
		{"acmeology is a word", false},
		{"the ACME café in Split", true},
		{"Wile E. Coyote ordered from Acme", false},
		{"news on the acme corp lawsuit today", false},
		{"Ужасный кофе акме, не советую", true},
		{"nothing relevant", false},
		{"", false},
	}
	for _, tt := range tests {
		if got, _ := m.Match(tt.text); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.text, got, tt.want)
		}
	}
	if ok, _ := NewMatcher(nil, nil, nil).Match("anything"); !ok {
		t.Error("no keywords should match everything")
	}
}

func TestPlainText(t *testing.T) {
	tests := map[string]string{
		"plain":                                      "plain",
		"<p>Hi &amp; bye</p><p>two</p>":              "Hi & bye\ntwo",
		"a<br>b<script>alert(1)</script>c":           "a\nbc",
		`<a href="x">link</a> &quot;q&quot; &#x27;s`: `link "q" 's`,
		"<p>unclosed <b>bold":                        "unclosed bold",
	}
	for in, want := range tests {
		if got := PlainText(in); got != want {
			t.Errorf("PlainText(%q) = %q, want %q", in, got, want)
		}
	}
}
