// Package collectortest has helpers for testing collectors.
package collectortest

import (
	"context"
	"sync"

	"github.com/earshot/earshot/mention"
)

// Sink records what a collector adds, safely from several goroutines.
type Sink struct {
	mu       sync.Mutex
	Mentions []mention.Mention
	Errors   []error
}

// Add records a mention; it fails only when ctx is done, like the pipeline's.
func (s *Sink) Add(ctx context.Context, m mention.Mention) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Mentions = append(s.Mentions, m)
	return nil
}

// AddError records a per-item error.
func (s *Sink) AddError(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Errors = append(s.Errors, err)
}
