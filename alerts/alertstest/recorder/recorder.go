// Package recorder is a receiver kind that exists to show what adding one
// takes: this folder and one line in cmd/earshot's receiver registry. It
// appends one JSON line per message (receiver, subject, case ids) to a
// file, which tests read back.
package recorder

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options are a recorder receiver's keys.
type Options struct {
	File string `yaml:"file"` // where the lines go; required, absolute
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	switch {
	case o.File == "":
		return []config.FieldError{{Field: "file", Msg: "required: an absolute path"}}
	case !filepath.IsAbs(o.File):
		return []config.FieldError{{Field: "file", Msg: fmt.Sprintf("%q is not an absolute path", o.File)}}
	}
	return nil
}

// Kind registers the recorder receiver kind.
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("recorder", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		return &Receiver{name: env.Name, file: o.File}, nil
	})
}

// Receiver appends messages to a file.
type Receiver struct {
	name string
	file string
	mu   sync.Mutex
}

// Line is what one message leaves in the file.
type Line struct {
	Receiver string   `json:"receiver"`
	ID       string   `json:"id"`
	Subject  string   `json:"subject"`
	Cases    []string `json:"cases"`
}

// Name implements alerts.Receiver.
func (r *Receiver) Name() string { return r.name }

// Send implements alerts.Receiver.
func (r *Receiver) Send(_ context.Context, m alerts.Message) (alerts.Delivery, error) {
	l := Line{Receiver: r.name, ID: m.ID, Subject: alerts.Subject(m)}
	for _, c := range m.Cases {
		l.Cases = append(l.Cases, c.ID)
	}
	l.Cases = append(l.Cases, m.More...)
	b, err := json.Marshal(l)
	if err != nil {
		return alerts.Delivery{}, fmt.Errorf("recorder %s: %w", r.name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f, err := os.OpenFile(r.file, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return alerts.Delivery{Retry: true}, fmt.Errorf("recorder %s: %w", r.name, err)
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return alerts.Delivery{Retry: true}, fmt.Errorf("recorder %s: %w", r.name, err)
	}
	if err := f.Close(); err != nil {
		return alerts.Delivery{Retry: true}, fmt.Errorf("recorder %s: %w", r.name, err)
	}
	return alerts.Delivery{}, nil
}

// Read returns the lines a recorder wrote to file.
func Read(file string) ([]Line, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var out []Line
	dec := json.NewDecoder(bytes.NewReader(b))
	for dec.More() {
		var l Line
		if err := dec.Decode(&l); err != nil {
			return out, fmt.Errorf("recorder %s: %w", file, err)
		}
		out = append(out, l)
	}
	return out, nil
}
