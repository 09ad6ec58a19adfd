package reddit

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/earshot/earshot/collectors"
)

// TestLinkPostKeepsArticleURL: a link post's article URL is kept in the
// text (a self post's url is its own permalink and is not repeated).
func TestLinkPostKeepsArticleURL(t *testing.T) {
	tests := []struct {
		name, data, want string
		has              bool
	}{
		{"link post", `{"kind":"t3","data":{"name":"t3_a","title":"Acme recall","selftext":"","is_self":false,"url":"https://news.example/acme-recall","permalink":"/r/x/comments/a/acme_recall/"}}`,
			"https://news.example/acme-recall", true},
		{"self post", `{"kind":"t3","data":{"name":"t3_b","title":"Acme?","selftext":"is acme ok","is_self":true,"url":"https://www.reddit.com/r/x/comments/b/acme/","permalink":"/r/x/comments/b/acme/"}}`,
			"comments/b", false},
	}
	c := &Collector{match: collectors.NewMatcher(nil, nil, nil)}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var th thing
			if err := json.Unmarshal([]byte(tt.data), &th); err != nil {
				t.Fatal(err)
			}
			m, ok := c.mention(th)
			if !ok || strings.Contains(m.Text, tt.want) != tt.has || !strings.HasPrefix(m.URL, "https://www.reddit.com/r/x/") {
				t.Errorf("mention %q url %q, want %q in text: %v", m.Text, m.URL, tt.want, tt.has)
			}
		})
	}
}
