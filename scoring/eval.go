package scoring

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/earshot/earshot/mention"
)

// Labelled is one evaluation item: a text with a gold label
// (negative|neutral|positive). Ratings and languages in the files are
// withheld from the scorer: it sees what a collector would give it.
type Labelled struct {
	ID    string `json:"id"`
	Lang  string `json:"lang"`
	Text  string `json:"text"`
	Label string `json:"label"`
}

// LangResult is the negative-class quality for one language.
type LangResult struct {
	Lang                  string
	N, TP, FP, FN         int
	LangOK                int // items whose language was identified right
	Precision, Recall, F1 float64
	BySource              map[string]*LangResult `json:"-"`
}

func (r *LangResult) finish() {
	if r.TP+r.FP > 0 {
		r.Precision = float64(r.TP) / float64(r.TP+r.FP)
	}
	if r.TP+r.FN > 0 {
		r.Recall = float64(r.TP) / float64(r.TP+r.FN)
	}
	if r.Precision+r.Recall > 0 {
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	}
}

// ReadLabelled reads JSONL items from files matching a glob (or a directory:
// its *.jsonl files).
func ReadLabelled(path string) ([]Labelled, error) {
	pattern := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		pattern = filepath.Join(path, "*.jsonl")
	}
	files, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("eval data %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("eval data %s: no .jsonl files", path)
	}
	var out []Labelled
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("eval data: %w", err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		line := 0
		for sc.Scan() {
			line++
			if strings.TrimSpace(sc.Text()) == "" {
				continue
			}
			var it Labelled
			if err := json.Unmarshal(sc.Bytes(), &it); err != nil {
				fh.Close()
				return nil, fmt.Errorf("%s:%d: %w", f, line, err)
			}
			out = append(out, it)
		}
		err = sc.Err()
		fh.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
	}
	return out, nil
}

// Evaluate scores items (text only) and returns per-language results of
// the negative class, sorted by language.
func Evaluate(ctx context.Context, s *Scorer, items []Labelled) ([]*LangResult, error) {
	by := map[string]*LangResult{}
	get := func(m map[string]*LangResult, k string) *LangResult {
		r := m[k]
		if r == nil {
			r = &LangResult{Lang: k, BySource: map[string]*LangResult{}}
			m[k] = r
		}
		return r
	}
	for i, it := range items {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		m := mention.Mention{ID: it.ID, Text: it.Text}
		s.ScoreMention(&m)
		src, _, _ := strings.Cut(it.ID, ":")
		for _, r := range []*LangResult{get(by, it.Lang), get(get(by, it.Lang).BySource, src)} {
			r.N++
			if lexLang(m.Lang) == lexLang(it.Lang) {
				r.LangOK++
			}
			gold := it.Label == "negative"
			switch {
			case m.Negative && gold:
				r.TP++
			case m.Negative:
				r.FP++
			case gold:
				r.FN++
			}
		}
	}
	var out []*LangResult
	for _, r := range by {
		r.finish()
		for _, sr := range r.BySource {
			sr.finish()
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lang < out[j].Lang })
	return out, nil
}

// WriteReport prints the table make eval shows.
func WriteReport(w io.Writer, rs []*LangResult, sources bool) {
	fmt.Fprintf(w, "%-6s %6s %9s %7s %6s %7s\n", "lang", "n", "precision", "recall", "F1", "lang-id")
	sum := 0.0
	for _, r := range rs {
		fmt.Fprintf(w, "%-6s %6d %9.3f %7.3f %6.3f %7.3f\n", r.Lang, r.N, r.Precision, r.Recall, r.F1, float64(r.LangOK)/float64(max(r.N, 1)))
		sum += r.F1
		if sources && len(r.BySource) > 1 {
			keys := make([]string, 0, len(r.BySource))
			for k := range r.BySource {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				sr := r.BySource[k]
				fmt.Fprintf(w, "  %-24s %6d %9.3f %7.3f %6.3f\n", k, sr.N, sr.Precision, sr.Recall, sr.F1)
			}
		}
	}
	if len(rs) > 0 {
		fmt.Fprintf(w, "%-6s %6s %9s %7s %6.3f\n", "mean", "", "", "", sum/float64(len(rs)))
	}
}
