package collectors

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/earshot/earshot/config"
)

// SearchTerms returns the queries a social source searches for: its own,
// else the include terms of its matcher (the brand's keywords).
func SearchTerms(kind, source string, queries []string, m *Matcher) ([]string, error) {
	if len(queries) == 0 {
		queries = m.Terms()
	}
	if len(queries) == 0 {
		return nil, fmt.Errorf("%s %s: no queries and no brand keywords", kind, source)
	}
	return queries, nil
}

// CheckURL reports a field that is set but not an absolute URL with one of
// the schemes (default http and https).
func CheckURL(field, raw string, schemes ...string) []config.FieldError {
	if raw == "" {
		return nil
	}
	if len(schemes) == 0 {
		schemes = []string{"http", "https"}
	}
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" {
		for _, s := range schemes {
			if u.Scheme == s {
				return nil
			}
		}
	}
	return []config.FieldError{{Field: field, Msg: fmt.Sprintf("%q is not a %s URL", raw, schemes)}}
}

// KeyCursor reads a cursor kept as a JSON object of keys to ids (per
// country, per timeline). An unreadable cursor is reported and the pass
// starts over, which ids make harmless.
func KeyCursor(cursor string, sink Sink) map[string]string {
	m := map[string]string{}
	if cursor == "" {
		return m
	}
	if err := json.Unmarshal([]byte(cursor), &m); err != nil {
		sink.AddError(fmt.Errorf("cursor %q unreadable, starting over: %w", cursor, err))
		return map[string]string{}
	}
	return m
}
