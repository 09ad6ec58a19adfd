package model

import (
	"bytes"
	_ "embed"
	"fmt"
)

// defaultModel is built by `make model` from the sets whose terms allow
// shipping derived weights (SOURCES.md beside this file): never edit it by
// hand.
//
//go:embed default.model
var defaultModel []byte

// Default returns the model built into the binary, parsed anew (a few
// milliseconds) so that callers share no state.
func Default() (*Model, error) {
	m, err := Read(bytes.NewReader(defaultModel))
	if err != nil {
		return nil, fmt.Errorf("built-in model: %w", err)
	}
	return m, nil
}

// DefaultSources are the id prefixes of the sets the default model is
// trained on: CC BY 4.0 (uci-yelp, uci-amazon), MPL-2.0 (shopee-tl-stars)
// and CC BY-SA 4.0 (indonlu-smsa). The others in the shared data are
// non-commercial or of unclear terms: evaluation and local models only.
var DefaultSources = []string{"uci-yelp", "uci-amazon", "shopee-tl-stars", "indonlu-smsa"}
