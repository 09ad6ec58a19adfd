package stdout

import (
	"fmt"
	"os"

	"github.com/earshot/earshot/alerts"
	"github.com/earshot/earshot/config"
)

// Options are a stdout receiver's keys.
type Options struct {
	Format string `yaml:"format"` // text (default) or json
}

// Validate implements config's options check.
func (o *Options) Validate() []config.FieldError {
	if o.Format != "" && o.Format != "text" && o.Format != "json" {
		return []config.FieldError{{Field: "format", Msg: fmt.Sprintf("text or json, got %q", o.Format)}}
	}
	return nil
}

// Kind registers the stdout receiver kind; it writes to env.Stdout
// (os.Stdout when nil).
func Kind() alerts.ReceiverKind {
	return alerts.ReceiverKindOf("stdout", func(env alerts.ReceiverEnv, o *Options) (alerts.Receiver, error) {
		w := env.Stdout
		if w == nil {
			w = os.Stdout
		}
		return New(env.Name, o.Format, w), nil
	})
}
