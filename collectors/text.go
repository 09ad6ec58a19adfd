package collectors

import (
	"strings"

	"golang.org/x/net/html"
)

// PlainText turns an HTML fragment (a Mastodon status, an HN comment, a feed
// summary) into plain text: tags dropped, entities decoded, paragraphs and
// line breaks kept as newlines, scripts and styles removed entirely.
// Escaping for display is the renderer's job; this only extracts words.
func PlainText(fragment string) string {
	if !strings.ContainsAny(fragment, "<&") {
		return strings.TrimSpace(fragment)
	}
	z := html.NewTokenizer(strings.NewReader(fragment))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return tidy(b.String())
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				skip++
			case "br", "p", "div", "li", "blockquote", "h1", "h2", "h3", "tr":
				b.WriteByte('\n')
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style":
				if skip > 0 {
					skip--
				}
			case "p", "div", "li", "blockquote":
				b.WriteByte('\n')
			}
		}
	}
}

// tidy collapses runs of spaces and blank lines.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// blockElements break a line: their text does not run into the next
// block's ("Staff rude<br>never again" is two lines, not "rudenever").
var blockElements = map[string]bool{"br": true, "p": true, "div": true, "li": true, "ul": true, "ol": true,
	"blockquote": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "tr": true,
	"td": true, "th": true, "dd": true, "dt": true, "dl": true, "table": true, "section": true, "article": true,
	"header": true, "footer": true, "pre": true, "hr": true, "figure": true, "figcaption": true, "address": true}

// NodeText is the text of a parsed element for microdata, RDFa and CSS
// selectors: block boundaries and <br> become line breaks, spaces within a
// line are collapsed, scripts and styles are left out.
func NodeText(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(c *html.Node) {
		switch c.Type {
		case html.TextNode:
			// Line breaks in the source are spaces in HTML; only blocks
			// and <br> break lines.
			b.WriteString(strings.Map(func(r rune) rune {
				if r == '\n' || r == '\r' || r == '\t' || r == '\f' {
					return ' '
				}
				return r
			}, c.Data))
			return
		case html.ElementNode:
			if c.Data == "script" || c.Data == "style" || c.Data == "template" {
				return
			}
		}
		block := c.Type == html.ElementNode && blockElements[c.Data]
		if block {
			b.WriteByte('\n')
		}
		for x := c.FirstChild; x != nil; x = x.NextSibling {
			walk(x)
		}
		if block {
			b.WriteByte('\n')
		}
	}
	walk(n)
	return tidy(b.String())
}

// TidyText normalises text that arrives as plain text (JSON-LD values):
// \r\n and \r become \n, spaces within each line collapse, blank lines go.
func TidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return tidy(s)
}
