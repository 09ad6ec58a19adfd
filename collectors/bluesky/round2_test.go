package bluesky

import (
	"encoding/json"
	"testing"
)

func TestExpandLinks(t *testing.T) {
	facets := func(s string) []Facet {
		var f []Facet
		if err := json.Unmarshal([]byte(s), &f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	tests := []struct {
		name, text, facets, want string
	}{
		{"shortened link", "see example.com/a... now", `[{"index":{"byteStart":4,"byteEnd":20},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://example.com/a/long/path"}]}]`,
			"see https://example.com/a/long/path now"},
		{"multibyte text before the link", "žlto → x.io/ab...", `[{"index":{"byteStart":10,"byteEnd":20},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://x.io/abc"}]}]`,
			"žlto → https://x.io/abc"},
		{"mention facet untouched", "hi @a.b", `[{"index":{"byteStart":3,"byteEnd":7},"features":[{"$type":"app.bsky.richtext.facet#mention","did":"did:x"}]}]`, "hi @a.b"},
		{"range out of bounds skipped", "short", `[{"index":{"byteStart":2,"byteEnd":99},"features":[{"$type":"app.bsky.richtext.facet#link","uri":"https://x"}]}]`, "short"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := expandLinks(tt.text, facets(tt.facets)); got != tt.want {
				t.Errorf("expandLinks = %q, want %q", got, tt.want)
			}
		})
	}
}
