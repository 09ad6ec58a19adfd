package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/alerts/alertstest"
)

// Slack lists a message's cases in its order (worst first, as the
// notifier sorts them) and links each to its case page.
func TestPayloadCasePageAndOrder(t *testing.T) {
	worst := alertstest.Hostile()
	c := worst.Cases[0]
	c.CaseURL = "https://earshot.example.com/cases/case-1"
	low := c
	low.ID, low.CaseURL = "case-2", "https://earshot.example.com/cases/case-2"
	low.Mention.Severity, low.Mention.Text = "low", "second case text"
	m := alerts.Message{Receiver: "desk", Cases: []alerts.Case{c, low}}
	b, err := json.Marshal(New("s", Options{}).Payload(m))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	first, second := strings.Index(s, "cases/case-1|Open case"), strings.Index(s, "cases/case-2|Open case")
	if first < 0 || second < first {
		t.Errorf("case page links missing or out of order (%d, %d):\n%s", first, second, s)
	}
}
