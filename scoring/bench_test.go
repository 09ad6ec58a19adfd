package scoring

import (
	"bufio"
	"encoding/json"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/jonreiter/govader"

	"github.com/earshot/earshot/mention"
)

// mix is a multilingual sample of reviews and posts written for these
// benchmarks (testdata/mix.jsonl), languages withheld so that language
// identification is part of the cost.
func mix(tb testing.TB, lang string) []string {
	tb.Helper()
	f, err := os.Open("testdata/mix.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Lang, Text string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatal(err)
		}
		if lang == "" || r.Lang == lang {
			out = append(out, r.Text)
		}
	}
	return out
}

// BenchmarkScore is the full scorer, one goroutine, as "earshot score" runs
// it (entity extraction on): the target is >= 10,000 mentions/s per core.
// The "noentities" runs in the same process are the in-run baseline; report
// the ratio. BenchmarkGovader is the English-only baseline.
func BenchmarkScore(b *testing.B) {
	for _, ents := range []struct {
		name string
		on   bool
	}{{"entities", true}, {"noentities", false}} {
		s, err := New(Options{Entities: ents.on})
		if err != nil {
			b.Fatal(err)
		}
		for _, tc := range []struct{ name, lang string }{{"mix", ""}, {"english", "en"}} {
			texts := mix(b, tc.lang)
			b.Run(ents.name+"/"+tc.name, func(b *testing.B) {
				b.ReportAllocs()
				for i := 0; i < b.N; i++ {
					m := mention.Mention{Text: texts[i%len(texts)]}
					s.ScoreMention(&m)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mentions/s")
			})
		}
	}
}

func BenchmarkGovader(b *testing.B) {
	texts := mix(b, "en")
	an := govader.NewSentimentIntensityAnalyzer()
	b.Run("english", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			an.PolarityScores(texts[i%len(texts)])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "mentions/s")
	})
}

// BenchmarkScorerMemory reports the heap a scorer with every language holds
// and the process's resident memory after building one (target < 300 MB).
func BenchmarkScorerMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s, err := New(Options{Entities: true})
		if err != nil {
			b.Fatal(err)
		}
		for _, t := range mix(b, "") {
			m := mention.Mention{Text: t}
			s.ScoreMention(&m)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/(1<<20), "heap-MB")
		b.ReportMetric(rssMB(), "rss-MB")
		runtime.KeepAlive(s)
	}
}

func rssMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
