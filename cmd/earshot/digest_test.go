package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/earshot/earshot/collectors/demo"
	"github.com/earshot/earshot/storage/chtest"
)

// TestDigestCountByCollected: the demo's reviews dated a year back and
// collected today give an empty digest by publication date and a full one
// with --count-by collected (and digests: count_by: collected), which says
// so; a bad value is a usage error before ClickHouse is touched.
func TestDigestCountByCollected(t *testing.T) {
	db := chtest.New(t)
	cfg := testConfig(t, db)
	yearAgo := time.Now().AddDate(-1, 0, 0)
	clock := func() time.Time { return yearAgo }
	var out, errb bytes.Buffer
	reg := registry()
	reg["demo"] = demo.KindAt(clock) // pages dated in the days before a year ago
	a := &app{registry: reg, stdout: &out, stderr: &errb, now: clock}
	if code := a.execute(context.Background(), []string{"--config", cfg, "collect"}, strings.NewReader("")); code != 0 ||
		!strings.Contains(out.String(), "mentions stored in "+db.Name+": 12") {
		t.Fatalf("collect: exit %d\n%s%s", code, out.String(), errb.String())
	}
	for _, tc := range []struct {
		name  string
		args  []string
		code  int
		wants []string
	}{
		{"published (the default)", nil, 0, []string{"negative of 0 mentions in the last 24 hours", "Mentions counted by publication date."}},
		{"collected", []string{"--count-by", "collected"}, 0, []string{"of 12 mentions in the last 24 hours",
			"Mentions counted by the day earshot collected them.", "Negative by location:", "Top aspects:"}},
		{"bad value", []string{"--count-by", "found"}, 2, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := digestLater(t, append([]string{"--config", cfg, "alerts", "digest", "outbox"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			if tc.code == 2 && (!strings.Contains(errOut, `--count-by "found": want published or collected`) || strings.Count(errOut, "\n") != 1) {
				t.Errorf("usage error: %q", errOut)
			}
			for _, w := range tc.wants {
				if !strings.Contains(out, w) {
					t.Errorf("digest lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// The config's count_by is the digest's default.
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	collected := strings.Replace(string(b), "    count_by: published ", "    count_by: collected ", 1)
	if collected == string(b) {
		t.Fatal("the example config's digest has no count_by: published")
	}
	if err := os.WriteFile(cfg, []byte(collected), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := digestLater(t, "--config", cfg, "alerts", "digest", "outbox"); code != 0 || !strings.Contains(out, "of 12 mentions") {
		t.Errorf("count_by: collected in the config: exit %d\n%s%s", code, out, errOut)
	}
}

// digestLater runs earshot with its clock an hour ahead. A digest counts
// whole hours before its end: ending an hour from now, it counts this
// hour's collections even in the first minute of an hour (a CI run at
// 07:00 found 0 of 12 when the digest ended at the hour they were in).
func digestLater(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	a := &app{registry: registry(), stdout: &out, stderr: &errb, now: func() time.Time { return time.Now().Add(time.Hour) }}
	code := a.execute(context.Background(), args, strings.NewReader(""))
	return code, out.String(), errb.String()
}
