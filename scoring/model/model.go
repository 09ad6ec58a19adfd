// Package model is Earshot's learned scorer: a multinomial logistic
// regression over hashed word 1-2-grams and character 2-5-grams, and a
// small calibrated combiner ("stacker") that weighs it against the
// lexicon's evidence per language. It is pure Go, trained in seconds on a
// few thousand labelled texts (Train), stored as one gzip file that records
// its settings, training data and eval figures (Write, Read), and explains
// itself by words (Explain). Package scoring feeds it the lexicon's
// evidence and decides; the Retrainer retrains it from staff labels.
package model

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// FormatVersion is the model file's format; Read refuses others.
const FormatVersion = 1

const magic = "earshot-model"

// Classes are the labels, in the order of the weights.
var Classes = []string{"negative", "neutral", "positive"}

const nClasses = 3

// ClassIndex returns the index of a label, or -1.
func ClassIndex(label string) int {
	for i, c := range Classes {
		if c == label {
			return i
		}
	}
	return -1
}

// Meta is what a model file says about itself.
type Meta struct {
	Format   int      `json:"format"`
	Name     string   `json:"name"`
	Features Features `json:"features"`
	Classes  []string `json:"classes"`
	// Languages: training items per language. Covered are the languages
	// the model decides in: at least MinLangItems items, and every label
	// at least MinClassShare of them (a model that never saw a neutral
	// text in a language flags that language's neutral chatter). Texts in
	// other languages are left to the lexicon.
	Languages    map[string]int `json:"languages"`
	MinLangItems int            `json:"min_lang_items"`
	Covered      []string       `json:"covered"`
	// Threshold is the model's operating point: a text is negative when
	// P(negative) reaches it, unless scoring.min_confidence says otherwise.
	Threshold float64 `json:"threshold"`
	// Thresholds are per-language operating points, where a language's
	// cross-fitted F1 peaks elsewhere than the shared one (its share of
	// negatives differs); languages not listed use Threshold.
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	Training   Summary            `json:"training"`
	Stack      Stack              `json:"stack"`
	// Eval: cross-fitted figures on the training data (each item scored
	// by a model that did not see it), per language.
	Eval map[string]Figures `json:"eval"`
	// Feedback: held-back staff labels, before and after (train --feedback).
	Feedback *FeedbackFigures `json:"feedback,omitempty"`
}

// Summary describes the training data and settings.
type Summary struct {
	Files    []string       `json:"files"`
	Items    int            `json:"items"`
	ByLabel  map[string]int `json:"by_label"`
	BySource map[string]int `json:"by_source"`
	Labels   int            `json:"staff_labels,omitempty"`
	Inputs   string         `json:"inputs_sha256"`
	Seed     uint64         `json:"seed"`
	Epochs   int            `json:"epochs"`
	L2       float64        `json:"l2"`
	Folds    int            `json:"folds"`
}

// Figures are F1 of the negative class for one language (or a source).
type Figures struct {
	N        int     `json:"n"`
	Lexicon  float64 `json:"lexicon_f1"`
	Model    float64 `json:"model_f1"`
	Combined float64 `json:"combined_f1"`
	// Brier score of the combined P(negative): calibration and sharpness.
	Brier float64 `json:"brier"`
}

// Model is a loaded model; safe for concurrent use.
type Model struct {
	Meta Meta
	w    []float32 // w[bucket*3+class]
	bias [nClasses]float32
	id   string
	pool sync.Pool
}

type scratch struct {
	feats []feat
	words []string
	units []float32
}

func newModel(meta Meta) *Model {
	m := &Model{Meta: meta, w: make([]float32, (1<<meta.Features.Bits)*nClasses)}
	m.pool.New = func() any { return &scratch{feats: make([]feat, 0, 1024), words: make([]string, 0, 128)} }
	return m
}

// ID names the model in scorer_version: its name and a digest of its
// weights and settings.
func (m *Model) ID() string { return m.id }

// Covers says whether the model was trained on enough text in lang to have
// a say; for other languages the lexicon decides alone.
func (m *Model) Covers(lang string) bool {
	return lang != "" && slices.Contains(m.Meta.Covered, lang)
}

// OperatingPoint is the P(negative) from which a text in lang is flagged
// when scoring.min_confidence does not set one.
func (m *Model) OperatingPoint(lang string) float64 {
	if t, ok := m.Meta.Thresholds[lang]; ok && t > 0 {
		return t
	}
	if m.Meta.Threshold > 0 {
		return m.Meta.Threshold
	}
	return 0.5
}

// Probs returns P(negative), P(neutral), P(positive) from the text alone.
func (m *Model) Probs(text, lang string) [3]float64 {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	sc.feats, sc.words = m.Meta.Features.extract(text, lang, sc.words, sc.feats[:0])
	return m.probs(sc.feats)
}

func (m *Model) probs(fs []feat) [3]float64 {
	var s [3]float32
	s = m.bias
	for _, f := range fs {
		w := m.w[int(f.idx)*nClasses : int(f.idx)*nClasses+nClasses]
		s[0] += w[0] * f.val
		s[1] += w[1] * f.val
		s[2] += w[2] * f.val
	}
	return softmax(s)
}

func softmax(s [3]float32) [3]float64 {
	mx := max(s[0], s[1], s[2])
	var p [3]float64
	sum := 0.0
	for c := range p {
		p[c] = math.Exp(float64(s[c] - mx))
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return p
}

// Decision is the combined verdict for one text.
type Decision struct {
	// PNegative is the calibrated probability that the text is negative
	// (model and lexicon together).
	PNegative float64
	// Probs are the text model's own three probabilities.
	Probs [3]float64
}

// Decide combines the text model with the lexicon's evidence.
func (m *Model) Decide(text string, ev Evidence) Decision {
	p := m.Probs(text, ev.Lang)
	return Decision{PNegative: m.Meta.Stack.P(p, ev), Probs: p}
}

// Contribution is one word or word pair's learned push toward negative
// (positive Value) or away from it.
type Contribution struct {
	Text  string
	Value float64
}

// Explain returns the k words or word pairs of text that pushed the model
// most toward negative (sign > 0) or away from it (sign < 0): each word's
// own weight plus its character grams', each pair's weight. Words for
// which skip is true (function words) are left out, and pairs of two such.
func (m *Model) Explain(text, lang string, sign float64, k int, skip func(string) bool) []Contribution {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	sc.feats, sc.words = m.Meta.Features.extract(text, lang, sc.words, sc.feats[:0])
	return m.explain(sc, sign, k, skip)
}

// Assess is Decide and then, when explain returns a non-zero sign for the
// decision's P(negative), Explain, reading the text once.
func (m *Model) Assess(text string, ev Evidence, k int, skip func(string) bool, explain func(pNeg float64) float64) (Decision, []Contribution) {
	sc := m.pool.Get().(*scratch)
	defer m.pool.Put(sc)
	sc.feats, sc.words = m.Meta.Features.extract(text, ev.Lang, sc.words, sc.feats[:0])
	p := m.probs(sc.feats)
	d := Decision{PNegative: m.Meta.Stack.P(p, ev), Probs: p}
	if sign := explain(d.PNegative); sign != 0 {
		return d, m.explain(sc, sign, k, skip)
	}
	return d, nil
}

func (m *Model) explain(sc *scratch, sign float64, k int, skip func(string) bool) []Contribution {
	n := len(sc.words)
	// units[i] is word i, units[n+i] the pair i, i+1.
	units := sc.units[:0]
	for range 2 * n {
		units = append(units, 0)
	}
	sc.units = units
	for _, f := range sc.feats {
		if f.unit == langUnit {
			continue
		}
		w := m.w[int(f.idx)*nClasses:]
		// toward negative: against the mean of the other two classes
		u := int(f.unit)
		if u < 0 {
			u = n + (-1 - u)
		}
		units[u] += f.val * (w[0] - (w[1]+w[2])/2)
	}
	// The k strongest in the asked direction, by a partial selection: a
	// text has few words worth naming.
	var out []Contribution
	for len(out) < k {
		best, bestV := -1, float32(0)
		for u, v := range units {
			if v*float32(sign) > bestV*float32(sign) || best < 0 && v*float32(sign) > 0 {
				best, bestV = u, v
			}
		}
		if best < 0 {
			break
		}
		units[best] = 0
		var t string
		if best < n {
			t = sc.words[best]
			if skip != nil && skip(t) || utf8.RuneCountInString(t) < 2 {
				continue
			}
		} else {
			i := best - n
			if skip != nil && skip(sc.words[i]) && skip(sc.words[i+1]) {
				continue
			}
			t = sc.words[i] + " " + sc.words[i+1]
		}
		merged := false
		for j := range out {
			if out[j].Text == t {
				out[j].Value += float64(bestV)
				merged = true
			}
		}
		if !merged {
			out = append(out, Contribution{Text: t, Value: float64(bestV)})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if math.Abs(out[i].Value) != math.Abs(out[j].Value) {
			return math.Abs(out[i].Value) > math.Abs(out[j].Value)
		}
		return out[i].Text < out[j].Text
	})
	if len(out) > k {
		out = out[:k]
	}
	return out
}

// Write stores the model: gzip of a header line, the metadata as JSON, and
// the non-zero weights quantised to 16 bits.
func (m *Model) Write(w io.Writer) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	meta, err := json.Marshal(m.Meta)
	if err != nil {
		return fmt.Errorf("model: metadata: %w", err)
	}
	bw := bufio.NewWriter(zw)
	fmt.Fprintf(bw, "%s %d\n", magic, FormatVersion)
	bw.Write(meta)
	bw.WriteByte('\n')
	bw.Write(m.weightBytes())
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("model: write: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("model: write: %w", err)
	}
	return nil
}

// weightBytes: scale, biases, count, then per non-zero bucket the varint
// gap and three int16 weights.
func (m *Model) weightBytes() []byte {
	mx := float32(0)
	for _, v := range m.w {
		mx = max(mx, float32(math.Abs(float64(v))))
	}
	scale := mx / 32767
	if scale == 0 {
		scale = 1
	}
	var buf bytes.Buffer
	var tmp [binary.MaxVarintLen64]byte
	binary.Write(&buf, binary.LittleEndian, scale)
	binary.Write(&buf, binary.LittleEndian, m.bias)
	var body bytes.Buffer
	n, last := 0, -1
	for b := 0; b < len(m.w)/nClasses; b++ {
		var q [3]int16
		zero := true
		for c := range q {
			q[c] = int16(math.Round(float64(m.w[b*nClasses+c] / scale)))
			zero = zero && q[c] == 0
		}
		if zero {
			continue
		}
		body.Write(tmp[:binary.PutUvarint(tmp[:], uint64(b-last))])
		binary.Write(&body, binary.LittleEndian, q)
		last = b
		n++
	}
	binary.Write(&buf, binary.LittleEndian, uint32(n))
	buf.Write(body.Bytes())
	return buf.Bytes()
}

// Read loads a model written by Write.
func Read(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("model: not a model file: %w", err)
	}
	br := bufio.NewReader(zr)
	head, err := br.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("model: header: %w", err)
	}
	var format int
	if _, err := fmt.Sscanf(head, magic+" %d\n", &format); err != nil {
		return nil, errors.New("model: not a model file (no earshot-model header)")
	}
	if format != FormatVersion {
		return nil, fmt.Errorf("model: format %d, this earshot reads %d (retrain with earshot train)", format, FormatVersion)
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("model: metadata: %w", err)
	}
	var meta Meta
	if err := json.Unmarshal(line, &meta); err != nil {
		return nil, fmt.Errorf("model: metadata: %w", err)
	}
	if err := meta.Features.validate(); err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	if len(meta.Classes) != nClasses || strings.Join(meta.Classes, ",") != strings.Join(Classes, ",") {
		return nil, fmt.Errorf("model: classes %v, want %v", meta.Classes, Classes)
	}
	body, err := io.ReadAll(io.LimitReader(br, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("model: weights: %w", err)
	}
	m := newModel(meta)
	if err := m.readWeights(body); err != nil {
		return nil, err
	}
	m.setID()
	return m, nil
}

func (m *Model) readWeights(body []byte) error {
	bad := errors.New("model: weights truncated or corrupt")
	rd := bytes.NewReader(body)
	var scale float32
	if binary.Read(rd, binary.LittleEndian, &scale) != nil || binary.Read(rd, binary.LittleEndian, &m.bias) != nil {
		return bad
	}
	var n uint32
	if binary.Read(rd, binary.LittleEndian, &n) != nil {
		return bad
	}
	b := -1
	buckets := len(m.w) / nClasses
	for range n {
		gap, err := binary.ReadUvarint(rd)
		if err != nil || gap == 0 || gap > uint64(buckets) {
			return bad
		}
		b += int(gap)
		if b >= buckets {
			return bad
		}
		var q [3]int16
		if binary.Read(rd, binary.LittleEndian, &q) != nil {
			return bad
		}
		for c := range q {
			m.w[b*nClasses+c] = float32(q[c]) * scale
		}
	}
	if rd.Len() != 0 {
		return bad
	}
	return nil
}

// setID derives the id from what the model computes with: settings,
// combiner and weights (not its eval figures or training notes).
func (m *Model) setID() {
	h := sha256.New()
	s, _ := json.Marshal(struct {
		F Features
		S Stack
		L map[string]int
		N int
		T float64
		C []string
		P map[string]float64 `json:",omitempty"`
	}{m.Meta.Features, m.Meta.Stack, m.Meta.Languages, m.Meta.MinLangItems, m.Meta.Threshold, m.Meta.Covered, m.Meta.Thresholds})
	h.Write(s)
	h.Write(m.weightBytes())
	name := m.Meta.Name
	if name == "" {
		name = "model"
	}
	m.id = name + "-" + hex.EncodeToString(h.Sum(nil))[:8]
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	defer f.Close()
	m, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Save writes the model to path atomically (a temp file renamed).
func (m *Model) Save(path string) error {
	tmp, err := os.CreateTemp(dirOf(path), ".model-*")
	if err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp makes it 0600; a model file is no secret (make model
	// writes one into the repository, a daemon's may be shared).
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("model: save: %w", err)
	}
	bw := bufio.NewWriter(tmp)
	if err := m.Write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("model: save: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("model: save: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[:i+1]
	}
	return "."
}
