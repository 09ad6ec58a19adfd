package alerts

import (
	"strings"
	"testing"
	"time"
)

// Alert mails link to the case page when the inbox is served, and say how
// to act when no link is configured.
func TestMessageCasePageAndHowToAct(t *testing.T) {
	t0 := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		base      string
		want, not []string
	}{
		{"inbox served", "https://earshot.example.com/",
			[]string{"Case page (reply, note, acknowledge, resolve): https://earshot.example.com/cases/case:t:1\n", `<a href="https://earshot.example.com/cases/case:t:1"><strong>Open case</strong></a>`},
			[]string{"To act:"}},
		{"no links", "",
			[]string{"To act: earshot cases ack case:t:1, then earshot cases resolve case:t:1 --outcome replied_publicly|", "To act: earshot cases ack case:t:1"},
			[]string{"Case page", "Open case"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroupRig(t, "receivers: [{name: desk, kind: outbox}]\nroute: {receiver: desk}\n", nil, t0)
			g.n.CaseURL = CasePage(tc.base)
			g.notify("Zagreb", "high")
			g.at(time.Minute) // group_wait
			g.flush()
			g.expect("desk", 1)
			m := g.rcv["desk"].sent[0]
			html, err := HTML(m)
			if err != nil {
				t.Fatal(err)
			}
			body := Text(m) + "\n" + html
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("lacks %q:\n%s", w, body)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(body, n) {
					t.Errorf("has %q:\n%s", n, body)
				}
			}
		})
	}
	if CasePage("javascript:alert(1)") != nil || CasePage("") != nil {
		t.Error("a case page under a non-http base URL")
	}
	if got := shellWord("case:x'; rm -rf /"); got != `'case:x'\''; rm -rf /'` {
		t.Errorf("shellWord: %s", got)
	}
}

func TestSampleSaysTest(t *testing.T) {
	m := Sample(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))
	html, err := HTML(m)
	if err != nil {
		t.Fatal(err)
	}
	if s := Subject(m); !strings.HasPrefix(s, "[TEST] [Earshot]") || !strings.Contains(Text(m), "TEST MESSAGE") || !strings.Contains(html, "TEST MESSAGE") {
		t.Errorf("subject %q; text:\n%s", s, Text(m))
	}
	m.Step = 1
	if s := Subject(m); !strings.HasPrefix(s, "[TEST] [Escalation 1]") {
		t.Errorf("subject %q", s)
	}
}
