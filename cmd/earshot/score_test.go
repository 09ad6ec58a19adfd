package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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
