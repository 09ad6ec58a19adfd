// Package collectors holds the contract every source kind implements and
// the registry that maps kind names to implementations. Each kind lives in
// its own sub-package; cmd/earshot builds the registry explicitly.
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"sort"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

// Sink receives what a collector finds. Add blocks while the pipeline is
// busy (backpressure) and returns the context's error when cancelled; a
// collector must stop then. AddError reports a per-item or per-page failure
// and lets the collector carry on with the rest.
type Sink interface {
	Add(ctx context.Context, m mention.Mention) error
	AddError(err error)
}

// Collector runs one incremental pass over a source. cursor is what the
// previous pass returned ("" on the first); the returned cursor is stored
// only after everything added in this pass was stored, so a crash repeats
// the pass rather than skipping it. Ids must be stable (mention.StableID):
// a repeated pass then adds no duplicates.
type Collector interface {
	Collect(ctx context.Context, cursor string, sink Sink) (next string, err error)
}

// Streamer is implemented by push sources (WebSocket, server-sent events)
// besides Collect. Stream runs until ctx ends, reconnecting with backoff by
// itself, and adds mentions as they are written. It calls checkpoint with a
// resume cursor once everything before that point was added; the pipeline
// stores the cursor only after those mentions are stored. Collect on such a
// source catches up from the cursor to now and returns.
type Streamer interface {
	Stream(ctx context.Context, cursor string, sink Sink, checkpoint func(cursor string)) error
}

// RatingSink is implemented by sinks that also keep item ratings; page
// collectors hand ratings on when their sink is one.
type RatingSink interface {
	AddRating(ctx context.Context, r mention.ItemRating) error
}

// Env is what a collector gets to build itself.
type Env struct {
	Source  config.Source
	Brand   *config.Brand
	HTTP    config.Collect
	Options any // the kind's decoded options (Kind.Options), or nil
	Logger  *slog.Logger
}

// Kind describes one source kind.
type Kind struct {
	// Options returns a new pointer to the kind's options struct, decoded
	// from the source's kind-specific keys; nil when it takes none. The
	// struct may implement Validate() []config.FieldError.
	Options func() any
	New     func(env Env) (Collector, error)
}

// KindOf builds a Kind whose options are a *O decoded from the config, so
// that each kind's constructor receives its options already typed.
func KindOf[O any](name string, build func(env Env, o *O) (Collector, error)) Kind {
	return Kind{
		Options: func() any { return new(O) },
		New: func(env Env) (Collector, error) {
			o, ok := env.Options.(*O)
			if !ok {
				return nil, fmt.Errorf("%s: options are %T, want %T", name, env.Options, o)
			}
			return build(env, o)
		},
	}
}

// Registry maps kind names to kinds.
type Registry map[string]Kind

// SourceKinds is the registry in the form config.Schema wants.
func (r Registry) SourceKinds() map[string]func() any {
	out := make(map[string]func() any, len(r))
	for name, k := range r {
		out[name] = k.Options
	}
	return out
}

// Names lists the registered kinds, sorted.
func (r Registry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// NewerID compares decimal ids of any length (App Store review ids, Mastodon
// snowflakes): a longer id is newer, equal lengths compare as text.
func NewerID(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b)
	}
	return a > b
}
