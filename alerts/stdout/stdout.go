// Package stdout prints messages, as text or as JSON lines: for trying a
// config, for piping into other tools, and for containers' logs.
package stdout

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/earshot/earshot/alerts"
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
		err = json.NewEncoder(r.w).Encode(struct {
			Receiver string        `json:"receiver"`
			Subject  string        `json:"subject"`
			Step     int           `json:"step"`
			Summary  []string      `json:"summary,omitempty"`
			Cases    []alerts.Case `json:"cases"`
		}{r.name, alerts.Subject(m), m.Step, m.Summary, m.Cases})
	} else {
		_, err = fmt.Fprintf(r.w, "=== %s\n%s\n", alerts.Subject(m), terminalSafe(alerts.Text(m)))
	}
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("stdout %s: %w", r.name, err)
	}
	return alerts.Delivery{}, nil
}

// terminalSafe drops control characters other than newline and tab: a
// review must not move the cursor, recolour or retitle the terminal
// (ESC sequences) of whoever reads the alerts.
func terminalSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return -1
		}
		return r
	}, s)
}
