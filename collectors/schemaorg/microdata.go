package schemaorg

import (
	"strings"

	"golang.org/x/net/html"

	"github.com/earshot/earshot/collectors"
)

// syntax names the attributes of one inline markup syntax.
type syntax struct {
	scope func(n *html.Node) bool // starts an item
	typ   string                  // attribute holding the item's type
	prop  string                  // attribute naming a property
}

var (
	microdata = syntax{scope: func(n *html.Node) bool { return hasAttr(n, "itemscope") }, typ: "itemtype", prop: "itemprop"}
	rdfa      = syntax{scope: func(n *html.Node) bool { return hasAttr(n, "typeof") }, typ: "typeof", prop: "property"}
)

// inlineItems returns the top-level items of a page in one syntax, shaped
// like decoded JSON-LD (objects with "@type" and lists of values), so the
// JSON-LD review reader handles all three syntaxes.
func inlineItems(root *html.Node, s syntax) []any {
	var out []any
	var visit func(n *html.Node, depth int)
	visit = func(n *html.Node, depth int) {
		if depth > 256 {
			return
		}
		if n.Type == html.ElementNode && s.scope(n) && attr(n, s.prop) == "" {
			// An item that is no property of another. Keep descending: items
			// can sit inside it without being its properties (a business
			// inside a page-level WebPage).
			out = append(out, item(n, s, 0))
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			visit(c, depth+1)
		}
	}
	visit(root, 0)
	return out
}

// item reads an element that starts an item.
func item(n *html.Node, s syntax, depth int) map[string]any {
	obj := map[string]any{}
	var types []any
	for _, t := range strings.Fields(attr(n, s.typ)) {
		types = append(types, t)
	}
	if len(types) > 0 {
		obj["@type"] = types
	}
	if depth < maxDepth {
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			props(c, s, obj, depth)
		}
	}
	return obj
}

// props adds the properties found at and below n to obj, stopping at
// nested items (which are values, not containers, of this item).
func props(n *html.Node, s syntax, obj map[string]any, depth int) {
	if n.Type != html.ElementNode {
		return
	}
	names := strings.Fields(attr(n, s.prop))
	nested := s.scope(n)
	if len(names) > 0 {
		var v any
		if nested {
			v = item(n, s, depth+1)
		} else {
			v = value(n)
		}
		for _, name := range names {
			name = name[strings.LastIndexAny(name, "/:")+1:] // schema:reviewBody, http://schema.org/name
			list, _ := obj[name].([]any)
			obj[name] = append(list, v)
		}
	}
	if nested {
		return
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		props(c, s, obj, depth)
	}
}

// value is a property's value by the microdata / RDFa rules: content
// first, then the element's URL or date attribute, else its text.
func value(n *html.Node) string {
	if v, ok := attrOK(n, "content"); ok {
		return strings.TrimSpace(v)
	}
	switch n.Data {
	case "a", "link", "area":
		return attr(n, "href")
	case "img", "audio", "video", "source", "embed", "iframe":
		return attr(n, "src")
	case "object":
		return attr(n, "data")
	case "time":
		if v, ok := attrOK(n, "datetime"); ok {
			return v
		}
	case "data", "meter":
		if v, ok := attrOK(n, "value"); ok {
			return v
		}
	}
	// Block boundaries (<br>, <p>, <li>) are line breaks, not nothing:
	// "Staff rude<br>never again" must not become "rudenever again".
	return collectors.NodeText(n)
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasAttr(n *html.Node, key string) bool {
	_, ok := attrOK(n, key)
	return ok
}
