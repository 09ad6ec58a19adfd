package scoring

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jdkato/prose/v2"
)

// entityExtractor finds people, places and organisations in English text
// with prose. prose.NewDocument loads its tagger and NER model on every call
// unless it is handed one (about 4 documents/s that way), so the model is
// built once here. prose documents nothing about concurrent use of a model,
// so calls are serialised; only flagged English mentions get here.
type entityExtractor struct {
	mu    sync.Mutex
	model *prose.Model
}

// maxEntityBytes bounds prose's work per mention.
const maxEntityBytes = 4 << 10

func newEntityExtractor() *entityExtractor {
	return &entityExtractor{model: prose.ModelFromData("earshot")}
}

// extract returns entities as "Text (LABEL)", each once, in text order.
// prose panics on some inputs in older releases; a panic loses the
// entities of one mention, never the mention.
func (e *entityExtractor) extract(title, text string) (out []string) {
	if title != "" {
		text = title + ". " + text
	}
	if len(text) > maxEntityBytes {
		text = text[:maxEntityBytes]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			out = nil
		}
	}()
	doc, err := prose.NewDocument(text, prose.UsingModel(e.model), prose.WithSegmentation(false))
	if err != nil {
		return nil
	}
	for _, ent := range doc.Entities() {
		name := strings.TrimSpace(ent.Text)
		if name == "" {
			continue
		}
		s := fmt.Sprintf("%s (%s)", name, ent.Label)
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
