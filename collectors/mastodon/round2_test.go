package mastodon

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/earshot/earshot/collectors"
	"github.com/earshot/earshot/config"
)

// TestPollAndTagMatch: a poll's options are part of the text (the poll in
// the 2026 public timeline fixture), and hashtag timelines keep only posts
// with the brand's keywords.
func TestPollAndTagMatch(t *testing.T) {
	b, err := os.ReadFile("testdata/mastodon-v1-timelines-public-2026.json")
	if err != nil {
		t.Fatal(err)
	}
	var ss []Status
	if err := json.Unmarshal(b, &ss); err != nil {
		t.Fatal(err)
	}
	var poll Status
	for _, s := range ss {
		if s.Poll != nil {
			poll = s
		}
	}
	tag := timeline{key: "tag:x", tag: true}
	tests := []struct {
		name     string
		keywords []string
		s        Status
		keep     bool
		contains string
	}{
		{"poll options in the text", nil, poll, true, "nice\n- four twenty\n- sixty-nine"},
		{"keyword in a poll option", []string{"sixty-nine"}, poll, true, "sixty-nine"},
		{"tag timeline post without the keyword", []string{"acme"}, poll, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &Collector{match: collectors.NewMatcher(&config.Brand{Keywords: tt.keywords}, nil, nil)}
			m, ok := c.mention(tt.s, tag, "example.social")
			if ok != tt.keep || !strings.Contains(m.Text, tt.contains) {
				t.Errorf("kept %v text %q; want %v and %q", ok, m.Text, tt.keep, tt.contains)
			}
		})
	}
}
