package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/earshot/earshot/scoring"
	"github.com/earshot/earshot/storage/chtest"
)

// labelled writes n synthetic labelled lines (two thirds with a complaint
// word a lexicon lacks) and returns the file.
func labelledFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		label, text := "positive", fmt.Sprintf("the suite %d was wonderful", i)
		switch i % 3 {
		case 0:
			label, text = "negative", fmt.Sprintf("the suite %d was grotty", i)
		case 1:
			label, text = "neutral", fmt.Sprintf("we booked suite %d for friday", i)
		}
		fmt.Fprintf(&b, `{"id":"t:%d","lang":"en","text":%q,"label":%q}`+"\n", i, text, label)
	}
	p := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func scoreOne(t *testing.T, args ...string) map[string]any {
	t.Helper()
	code, out, errOut := earshot(t, append([]string{"--config", filepath.Join(t.TempDir(), "none.yaml"), "score"}, args...)...)
	if code != 0 {
		t.Fatalf("score %v: exit %d: %s", args, code, errOut)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("score output %q: %v", out, err)
	}
	return m
}

func TestTrainThenScoreWithModel(t *testing.T) {
	data := labelledFile(t, 150)
	out := filepath.Join(t.TempDir(), "m.model")
	code, stdout, errOut := earshot(t, "train", data, "--out", out, "--name", "hotel", "--epochs", "4")
	if code != 0 {
		t.Fatalf("train: exit %d\n%s\n%s", code, stdout, errOut)
	}
	if !strings.Contains(stdout, "wrote "+out+": hotel-") || !strings.Contains(stdout, "en ") {
		t.Errorf("train output:\n%s", stdout)
	}
	for _, tc := range []struct {
		model, version string
		neg            bool
	}{
		{out, scoring.Version + "+hotel-", true},   // the learned word flags it
		{"none", scoring.Version, false},           // the lexicons do not know it
		{"", scoring.Version + "+default-", false}, // built in
	} {
		args := []string{"The suite 900 was grotty."}
		if tc.model != "" {
			args = append(args, "--model", tc.model)
		}
		m := scoreOne(t, args...)
		if v, _ := m["scorer_version"].(string); !strings.HasPrefix(v, tc.version) || tc.model == "none" && v != tc.version {
			t.Errorf("--model %q: scorer_version %q, want %s...", tc.model, v, tc.version)
		}
		if tc.model == out && m["negative"] != tc.neg {
			t.Errorf("--model %s: negative %v: %v", tc.model, m["negative"], m["reasons"])
		}
		if tc.model == "none" && m["negative"] != tc.neg {
			t.Errorf("lexicons only: negative %v: %v", m["negative"], m["reasons"])
		}
	}
	// --bits changes the hash size alone: the model still has its n-grams
	// (it once zeroed every other feature setting, and learned nothing).
	small := filepath.Join(t.TempDir(), "s.model")
	if code, stdout, errOut := earshot(t, "train", data, "--out", small, "--bits", "16", "--epochs", "4"); code != 0 {
		t.Fatalf("train --bits 16: exit %d\n%s\n%s", code, stdout, errOut)
	}
	if m := scoreOne(t, "The suite 900 was grotty.", "--model", small); m["negative"] != true {
		t.Errorf("--bits 16 model: negative %v: %v", m["negative"], m["reasons"])
	}
	// --cross: every item held out once.
	code, stdout, errOut = earshot(t, "train", data, "--cross", "3", "--epochs", "3")
	if code != 0 || !strings.Contains(stdout, "150 items, each held out once") || !strings.Contains(stdout, "fold 3 operating point") {
		t.Errorf("train --cross 3: exit %d\n%s\n%s", code, stdout, errOut)
	}
	// Usage and data errors.
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"text":"x","label":"angry"}`+"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train", data}, 2, "--out MODEL is required"},
		{[]string{"train", "--out", out}, 2, "name at least one"},
		{[]string{"train", filepath.Join(t.TempDir(), "missing.jsonl"), "--out", out}, 2, "missing.jsonl"},
		{[]string{"train", bad, "--out", out}, 1, "bad.jsonl:1: label \"angry\""},
		{[]string{"train", data, "--cross", "1"}, 2, "want 2 to 20 folds"},
		{[]string{"train", data, "--cross", "5", "--compare", "0.3"}, 2, "choose one"},
		{[]string{"score", "--model", bad, "x"}, 1, "not a model file"},
		{[]string{"train", data, "--out", out, "--bits", "30"}, 1, "bad feature settings"},
	} {
		code, _, errOut := earshot(t, append([]string{"--config", filepath.Join(t.TempDir(), "none.yaml")}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q, want %d and %q", tc.args, code, errOut, tc.code, tc.want)
		}
	}
}

// TestLabelAndTrainFeedback: staff labels go to the labels table from the
// CLI, and train --feedback learns from them, printing the figures on the
// held-back labels before and after.
func TestLabelAndTrainFeedback(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	var rows []string
	for i := range 40 {
		text := fmt.Sprintf("The suite %d was grotty and smelled.", i)
		if i%2 == 1 {
			text = fmt.Sprintf("Suite %d: quiet, comfy, would book again.", i)
		}
		rows = append(rows, fmt.Sprintf(`{"id":"r%d","brand":"Sunrise Hotels","location":"Zagreb","author":"g%d","text":%q,"published_at":"2026-11-20T10:00:00Z"}`, i, i, text))
	}
	file := filepath.Join(t.TempDir(), "m.jsonl")
	os.WriteFile(file, []byte(strings.Join(rows, "\n")+"\n"), 0o644)
	if code, out, errOut := earshot(t, "--config", cfg, "import", "--no-score", file); code != 0 {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	for i := range 40 {
		label := "negative"
		if i%2 == 1 {
			label = "positive"
		}
		args := []string{"--config", cfg, "label", fmt.Sprintf("r%d", i), label, "--by", "ana"}
		if i == 0 {
			args = append(args, "--aspect", "cleanliness")
		}
		if code, out, errOut := earshot(t, args...); code != 0 || !strings.Contains(out, "labelled "+label+" by ana") {
			t.Fatalf("label r%d: %d %s %s", i, code, out, errOut)
		}
		if i == 2 {
			// Three labels and no data beside them: say what to do.
			code, _, errOut := earshot(t, "--config", cfg, "train", "--feedback", "--out", filepath.Join(t.TempDir(), "x.model"))
			if code != 2 || !strings.Contains(errOut, "3 staff labels and no FILE") {
				t.Errorf("train --feedback on 3 labels: exit %d %q", code, errOut)
			}
		}
	}
	if n := db.Count(t, "SELECT count() FROM labels FINAL WHERE who = 'ana'"); n != 40 {
		t.Errorf("%d labels stored, want 40", n)
	}
	if n := db.Count(t, "SELECT count() FROM labels FINAL WHERE mention_id = 'r0' AND aspects_corrected = 1 AND has(aspects, 'cleanliness')"); n != 1 {
		t.Errorf("aspect correction not stored")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"label", "r1", "angry", "--by", "ana"}, "want negative, neutral or positive"},
		{[]string{"label", "r1", "neutral"}, "--by"},
		{[]string{"label", "nope", "neutral", "--by", "ana"}, `no mention "nope"`},
	} {
		if code, _, errOut := earshot(t, append([]string{"--config", cfg}, tc.args...)...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}

	out := filepath.Join(t.TempDir(), "fb.model")
	code, stdout, errOut := earshot(t, "--config", cfg, "train", "--feedback", labelledFile(t, 60), "--out", out, "--model", "none", "--epochs", "4")
	for _, want := range []string{"40 labels", "held back", "before", "after"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("train --feedback output lacks %q:\n%s\n%s", want, stdout, errOut)
		}
	}
	// Against the lexicons alone, which do not know "grotty", the labels
	// can only help: promoted and written.
	if code != 0 || !strings.Contains(stdout, "promoted") {
		t.Fatalf("train --feedback: exit %d\n%s\n%s", code, stdout, errOut)
	}
	if _, err := os.Stat(out); err != nil {
		t.Errorf("promoted model not written: %v", err)
	}
}
