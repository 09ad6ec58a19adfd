package main

import (
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// The daemon's notifier links each case to its page under server.base_url
// and puts each location's contact, in the reply's language, in replies.
func TestWireMessages(t *testing.T) {
	y := `
brands:
  - name: Sunrise
    keywords: [sunrise]
    locations:
      - name: Zagreb
        contact: "Ana Horvat, front office manager"
        contacts: {ru: "Анна Хорват, администратор"}
server: {base_url: "https://earshot.example.com/"}
`
	cfg, err := config.Parse("m.yaml", []byte(y), config.Schema{})
	if err != nil {
		t.Fatal(err)
	}
	n := &alerts.Notifier{}
	wireMessages(n, cfg)
	if n.CaseURL == nil || n.CaseURL("case:x:1") != "https://earshot.example.com/cases/case:x:1" {
		t.Fatalf("case page link not wired")
	}
	if n.Contact("Sunrise", "Zagreb") != "Ana Horvat, front office manager" || n.Contacts("Sunrise", "Zagreb")["ru"] != "Анна Хорват, администратор" {
		t.Errorf("contacts not wired")
	}
	rc := alerts.ReplyContact{Default: n.Contact("Sunrise", "Zagreb"), ByLang: n.Contacts("Sunrise", "Zagreb")}
	if r := alerts.SuggestReplyTo(mention.Mention{Lang: "ru"}, rc); !strings.Contains(r, "займётся Анна Хорват, администратор.") {
		t.Errorf("russian reply:\n%s", r)
	}
	// Without a base URL there is no page to link to: messages say how to act.
	cfg.Server.BaseURL = ""
	n = &alerts.Notifier{}
	wireMessages(n, cfg)
	if n.CaseURL != nil {
		t.Error("case page link without a base URL")
	}
}
