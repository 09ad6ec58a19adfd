// Package stdout prints messages, as text or as JSON lines: for trying a
// config, for piping into other tools, and for containers' logs.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/internal/textsafe"
)

// Receiver writes to w.
type Receiver struct {
	name   string
	format string // text or json
	mu     sync.Mutex
	w      io.Writer
}

// New returns a receiver writing to w (os.Stdout in earshot).
func New(name, format string, w io.Writer) *Receiver {
	if format == "" {
		format = "text"
	}
	return &Receiver{name: name, format: format, w: w}
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Send implements alerts.Receiver.
func (r *Receiver) Send(_ context.Context, m alerts.Message) (alerts.Delivery, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if r.format == "json" {
		var buf bytes.Buffer
		err = json.NewEncoder(&buf).Encode(struct {
			Receiver string        `json:"receiver"`
			Subject  string        `json:"subject"`
			Step     int           `json:"step"`
			Summary  []string      `json:"summary,omitempty"`
			Cases    []alerts.Case `json:"cases"`
		}{r.name, alerts.Subject(m), m.Step, m.Summary, m.Cases})
		if err == nil {
			_, err = r.w.Write(jsonTerminalSafe(buf.Bytes()))
		}
	} else {
		// alerts.Text quotes the review; Clean keeps escape sequences from
		// moving the cursor, recolouring or retitling the reader's terminal.
		_, err = fmt.Fprintf(r.w, "=== %s\n%s\n", textsafe.Line(alerts.Subject(m)), textsafe.Clean(alerts.Text(m)))
	}
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("stdout %s: %w", r.name, err)
	}
	return alerts.Delivery{}, nil
}

// jsonTerminalSafe escapes what encoding/json leaves raw but a terminal
// may act on (DEL, C1 controls, bidi overrides) as \uXXXX: the same JSON
// value, safe to read in `docker logs`. Outside strings JSON is ASCII, so
// every such rune is inside a string, where the escape is valid.
func jsonTerminalSafe(b []byte) []byte {
	if !bytes.ContainsFunc(b, unsafeInJSON) {
		return b
	}
	var out strings.Builder
	for _, r := range string(b) {
		if unsafeInJSON(r) {
			fmt.Fprintf(&out, "\\u%04x", r)
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}

func unsafeInJSON(r rune) bool {
	return (r >= 0x7f && r <= 0x9f) || textsafe.IsBidiControl(r)
}
