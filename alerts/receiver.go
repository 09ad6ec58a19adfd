package alerts

import (
	"fmt"
	"io"
	"log/slog"
	"sort"

	"github.com/earshot/earshot/config"
)

// ReceiverEnv is what a receiver kind gets to build one receiver.
type ReceiverEnv struct {
	Name    string // the receiver's configured name
	Options any    // the kind's decoded options (ReceiverKind.Options)
	Stdout  io.Writer
	Logger  *slog.Logger
}

// ReceiverKind describes one receiver kind, the way collectors.Kind
// describes a source kind: its options type, decoded from the receiver's
// kind-specific keys (the struct may implement Validate() []config.FieldError,
// run by config with line numbers), and its constructor, which does no I/O.
type ReceiverKind struct {
	Options func() any
	New     func(env ReceiverEnv) (Receiver, error)
}

// ReceiverKindOf builds a ReceiverKind whose options are a *O, so that each
// kind's constructor receives its options already typed.
func ReceiverKindOf[O any](name string, build func(env ReceiverEnv, o *O) (Receiver, error)) ReceiverKind {
	return ReceiverKind{
		Options: func() any { return new(O) },
		New: func(env ReceiverEnv) (Receiver, error) {
			o, ok := env.Options.(*O)
			if !ok {
				return nil, fmt.Errorf("receiver %s (%s): options are %T, want %T", env.Name, name, env.Options, o)
			}
			return build(env, o)
		},
	}
}

// ReceiverRegistry maps receiver kind names to kinds. cmd/earshot builds it
// explicitly, one line per kind.
type ReceiverRegistry map[string]ReceiverKind

// Kinds is the registry in the form config.Schema wants.
func (r ReceiverRegistry) Kinds() map[string]func() any {
	out := make(map[string]func() any, len(r))
	for name, k := range r {
		out[name] = k.Options
	}
	return out
}

// Names lists the registered kinds, sorted.
func (r ReceiverRegistry) Names() []string {
	out := make([]string, 0, len(r))
	for n := range r {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Build makes the configured receivers of a config loaded with this
// registry's Kinds. With none configured, fallback (if not nil) is the
// one receiver, named DefaultReceiver, so a fresh install still sees its
// alerts.
func (r ReceiverRegistry) Build(cfg *config.Config, env ReceiverEnv, fallback func() Receiver) (map[string]Receiver, error) {
	out := make(map[string]Receiver, len(cfg.Receivers))
	for _, rc := range cfg.Receivers {
		k, ok := r[rc.Kind]
		if !ok {
			return nil, fmt.Errorf("receiver %s: unknown kind %q (one of: %v)", rc.Name, rc.Kind, r.Names())
		}
		e := env
		e.Name, e.Options = rc.Name, rc.Options
		rcv, err := k.New(e)
		if err != nil {
			return nil, fmt.Errorf("receiver %s: %w", rc.Name, err)
		}
		out[rc.Name] = rcv
	}
	if len(out) == 0 && fallback != nil {
		out[DefaultReceiver] = fallback()
	}
	return out, nil
}
