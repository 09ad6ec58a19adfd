package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

func TestScoreCommand(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		stdin    string
		code     int
		negative []bool
		stderr   string
	}{
		{"text arguments", []string{"score", "The waiter was rude and the room was filthy. Never again!", "Lovely stay, friendly staff."}, "", 0, []bool{true, false}, ""},
		{"jsonl on stdin", []string{"score"}, `{"id":"a","text":"Soba je bila prljava, osoblje neljubazno."}
{"id":"b","text":"Отличный сервис, спасибо!","lang":"ru"}
{"id":"c","text":"fine","rating":1,"rating_max":5}
`, 0, []bool{true, false, true}, ""},
		{"bad lines are skipped and named", []string{"score"}, `{"id":"a","text":"terrible, never again"}
not json
{"id":"c","text":""}
{"id":"d","text":"ok","rating":9,"rating_max":5}
`, 1, []bool{true}, "stdin:2: skipped"},
		{"invalid UTF-8 argument", []string{"score", "bad \xff\xfe service, rude staff"}, "", 0, []bool{true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runIO(context.Background(), append([]string{"--config", "none.yaml"}, tt.args...), strings.NewReader(tt.stdin), &out, &errb)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, errb.String())
			}
			if !strings.Contains(errb.String(), tt.stderr) {
				t.Errorf("stderr %q lacks %q", errb.String(), tt.stderr)
			}
			var got []bool
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var m mention.Mention
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatalf("output line %q: %v", sc.Text(), err)
				}
				if m.ScorerVersion == "" || m.Severity == "" || m.Lang == "" && m.Text != "" {
					t.Errorf("unscored output: %s", sc.Text())
				}
				got = append(got, m.Negative)
			}
			if len(got) != len(tt.negative) {
				t.Fatalf("%d output lines, want %d:\n%s", len(got), len(tt.negative), out.String())
			}
			for i := range got {
				if got[i] != tt.negative[i] {
					t.Errorf("line %d negative=%v, want %v:\n%s", i+1, got[i], tt.negative[i], out.String())
				}
			}
		})
	}
}

// scoreInput is JSONL for the score command: EARSHOT_SCORE_INPUT when set
// (e.g. 100k lines drawn from the dev sets), else 20,000 lines cycling
// through the multilingual benchmark sample.
func scoreInput(tb testing.TB) []byte {
	tb.Helper()
	if p := os.Getenv("EARSHOT_SCORE_INPUT"); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		return data
	}
	f, err := os.Open("../../scoring/testdata/mix.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Text string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatal(err)
		}
		texts = append(texts, r.Text)
	}
	var in bytes.Buffer
	for i := 0; i < 20000; i++ {
		line, _ := json.Marshal(map[string]string{"id": fmt.Sprintf("b:%d", i), "text": texts[i%len(texts)]})
		in.Write(line)
		in.WriteByte('\n')
	}
	return in.Bytes()
}

// BenchmarkScoreCommand is "earshot score" on JSONL stdin, scorer start-up
// included; run it with -cpu 1,2 for the per-core and all-core figures.
func BenchmarkScoreCommand(b *testing.B) {
	in := scoreInput(b)
	n := bytes.Count(in, []byte("\n"))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var errb bytes.Buffer
		if code := runIO(context.Background(), []string{"--config", "none.yaml", "score"}, bytes.NewReader(in), io.Discard, &errb); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "mentions/s")
}

// TestScoreStreamOrder: stdin is scored in batches on every core; output
// keeps the input order across batches and bad lines keep their numbers.
func TestScoreStreamOrder(t *testing.T) {
	for _, n := range []int{1, scoreBatchLines - 1, 3*scoreBatchLines + 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var in strings.Builder
			var wantIDs []string
			for i := 1; i <= n; i++ {
				switch {
				case i%97 == 0:
					in.WriteString("not json\n")
				case i%89 == 0:
					in.WriteString("  \n")
				default:
					id := fmt.Sprint("m", i)
					wantIDs = append(wantIDs, id)
					fmt.Fprintf(&in, "{\"id\":%q,\"text\":\"rude staff at Hilton Paris, room %d was dirty\"}\n", id, i)
				}
			}
			var out, errb bytes.Buffer
			code := runIO(context.Background(), []string{"--config", "none.yaml", "score"}, strings.NewReader(in.String()), &out, &errb)
			var gotIDs []string
			sc := bufio.NewScanner(&out)
			for sc.Scan() {
				var m mention.Mention
				if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
					t.Fatal(err)
				}
				gotIDs = append(gotIDs, m.ID)
			}
			if strings.Join(gotIDs, ",") != strings.Join(wantIDs, ",") {
				t.Errorf("output ids out of order or missing: got %d, want %d", len(gotIDs), len(wantIDs))
			}
			bad := n / 97
			if wantCode := map[bool]int{true: 1, false: 0}[bad > 0]; code != wantCode {
				t.Errorf("exit %d, want %d: %s", code, wantCode, errb.String())
			}
			for i := 97; i <= n; i += 97 {
				if !strings.Contains(errb.String(), fmt.Sprintf("stdin:%d: skipped", i)) {
					t.Errorf("stderr lacks line %d: %s", i, errb.String())
				}
			}
		})
	}
}
