package model

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// synth makes n labelled English-like texts: negative ones carry a
// complaint word, positive ones praise, neutral ones neither.
func synth(n int, seed uint64) []Item {
	rng := rand.New(rand.NewPCG(seed, 1))
	neg := []string{"awful", "filthy", "rude", "broken", "refund", "cold food", "never again"}
	pos := []string{"lovely", "spotless", "friendly", "delicious", "great", "perfect", "thank you"}
	topic := []string{"the room", "our waiter", "the delivery", "the app", "breakfast", "check in", "the pool"}
	var out []Item
	for i := range n {
		t := topic[rng.IntN(len(topic))]
		var text, label string
		switch i % 3 {
		case 0:
			text, label = fmt.Sprintf("%s was %s", t, neg[rng.IntN(len(neg))]), "negative"
		case 1:
			text, label = fmt.Sprintf("%s was %s", t, pos[rng.IntN(len(pos))]), "positive"
		default:
			text, label = fmt.Sprintf("we visited %s on day %d", t, rng.IntN(9)), "neutral"
		}
		out = append(out, Item{ID: fmt.Sprintf("synth:%d", i), Text: text, Label: label, Lang: "en"})
	}
	return out
}

// lexStub is a lexicon that knows only "awful".
func lexStub(it Item) Evidence {
	ev := Evidence{Lang: "en"}
	if strings.Contains(it.Text, "awful") {
		ev.Compound, ev.NegSum, ev.LexNegative, ev.Intensity = -0.6, 2.5, true, 2.5
	}
	return ev
}

func testConfig() Config {
	return Config{Name: "test", Features: Features{Bits: 14, WordMax: 2, CharMin: 2, CharMax: 4, CharWeight: 1, MaxBytes: 4096},
		Epochs: 6, MinLangItems: 10, Folds: 3, StackIters: 200}
}

func TestTrainLearnsAndRoundTrips(t *testing.T) {
	ctx := context.Background()
	items := synth(300, 1)
	md, err := Train(ctx, items, testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	// Words the lexicon does not know are learned.
	for _, tc := range []struct {
		text string
		neg  bool
	}{
		{"the pool was filthy", true},
		{"our waiter was rude", true},
		{"the app was friendly", false},
		{"we visited the pool on day 3", false},
	} {
		if got := md.Negative(tc.text, lexStub(Item{Text: tc.text}), 0); got != tc.neg {
			t.Errorf("%q: negative %v, want %v (P %.2f)", tc.text, got, tc.neg, md.Decide(tc.text, lexStub(Item{Text: tc.text})).PNegative)
		}
	}
	cs := md.Explain("the pool was filthy", "en", 1, 2, func(w string) bool { return w == "the" || w == "was" })
	if len(cs) == 0 || !strings.Contains(cs[0].Text, "filthy") || cs[0].Value <= 0 {
		t.Errorf("explain: %+v, want filthy first", cs)
	}
	if e := md.Meta.Eval["en"]; e.N != 300 || e.Combined < 0.9 {
		t.Errorf("cross-fitted figures %+v", e)
	}
	// Written and read back, it decides the same and keeps its id.
	var buf bytes.Buffer
	if err := md.Write(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != md.ID() || !strings.HasPrefix(md.ID(), "test-") {
		t.Errorf("id %s after reading, %s before", back.ID(), md.ID())
	}
	for _, it := range items[:30] {
		a, b := md.Probs(it.Text, "en"), back.Probs(it.Text, "en")
		for c := range a {
			if d := a[c] - b[c]; d > 0.01 || d < -0.01 {
				t.Fatalf("%q: %v before writing, %v after", it.Text, a, b)
			}
		}
	}
	if back.Meta.Training.Items != 300 || back.Meta.Training.ByLabel["negative"] != 100 || back.Meta.Format != FormatVersion {
		t.Errorf("training summary %+v", back.Meta.Training)
	}
}

func TestTrainIsDeterministic(t *testing.T) {
	ctx := context.Background()
	items := synth(120, 2)
	a, err := Train(ctx, items, testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	rev := make([]Item, len(items))
	for i, it := range items {
		rev[len(items)-1-i] = it
	}
	b, err := Train(ctx, rev, testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	var wa, wb bytes.Buffer
	a.Write(&wa)
	b.Write(&wb)
	if a.ID() != b.ID() || !bytes.Equal(wa.Bytes(), wb.Bytes()) {
		t.Errorf("same data in another order gave another model: %s vs %s", a.ID(), b.ID())
	}
	cfg := testConfig()
	cfg.Seed = 99
	c, _ := Train(ctx, items, cfg, lexStub)
	if c.ID() == a.ID() {
		t.Error("another seed gave the same model")
	}
}

func TestReadRejects(t *testing.T) {
	md, err := Train(context.Background(), synth(60, 3), testConfig(), lexStub)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	md.Write(&buf)
	good := buf.Bytes()
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte(s))
		w.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"not gzip", []byte("hello"), "not a model file"},
		{"no header", gz("something else\n{}\n"), "no earshot-model header"},
		{"future format", gz("earshot-model 9\n{}\n"), "format 9"},
		{"bad meta", gz("earshot-model 1\n{nope\n"), "metadata"},
		{"truncated weights", good[:len(good)/2], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tc.data))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestDefaultModel(t *testing.T) {
	md, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.ID(), "default-") {
		t.Errorf("id %s", md.ID())
	}
	for src := range md.Meta.Training.BySource {
		ok := false
		for _, s := range DefaultSources {
			ok = ok || s == src
		}
		if !ok {
			t.Errorf("built-in model trained on %s, whose terms do not allow shipping weights", src)
		}
	}
	for _, l := range []string{"tl", "id"} {
		if !md.Covers(l) {
			t.Errorf("built-in model does not cover %s", l)
		}
	}
	// ru: no shippable data; en: the shippable English (UCI) has no
	// neutral texts, and a model that never saw one flags neutral chatter.
	for _, l := range []string{"ru", "en"} {
		if md.Covers(l) {
			t.Errorf("built-in model claims %s", l)
		}
	}
}

// TestFold: n folds hold every item out exactly once, the same way each call.
func TestFold(t *testing.T) {
	var items []Item
	for i := range 500 {
		items = append(items, Item{ID: fmt.Sprintf("x:%d", i), Text: "t", Label: "neutral"})
	}
	seen := map[string]int{}
	for k := range 5 {
		train, held := Fold(items, 5, k)
		if len(train)+len(held) != 500 || len(held) < 60 || len(held) > 140 {
			t.Fatalf("fold %d: train %d held %d", k, len(train), len(held))
		}
		_, again := Fold(items, 5, k)
		if len(again) != len(held) || again[0].ID != held[0].ID {
			t.Fatalf("fold %d differs between calls", k)
		}
		for _, it := range held {
			seen[it.ID]++
		}
	}
	for _, it := range items {
		if seen[it.ID] != 1 {
			t.Fatalf("%s held out %d times", it.ID, seen[it.ID])
		}
	}
}
