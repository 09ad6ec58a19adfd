package scoring

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jdkato/prose/v2"
)

// proseReference is the extraction as it was done with prose.NewDocument
// (segmentation off, shared model): the behaviour entityExtractor keeps.
type proseReference struct {
	mu    sync.Mutex
	model *prose.Model
}

var (
	refOnce sync.Once
	ref     *proseReference
	extOnce sync.Once
	ext     *entityExtractor
	extErr  error
)

func reference() *proseReference {
	refOnce.Do(func() { ref = &proseReference{model: prose.ModelFromData("earshot")} })
	return ref
}

func extractor(t testing.TB) *entityExtractor {
	extOnce.Do(func() { ext, extErr = newEntityExtractor() })
	if extErr != nil {
		t.Fatal(extErr)
	}
	return ext
}

func (r *proseReference) extract(title, text string) (out []string) {
	if title != "" {
		text = title + ". " + text
	}
	if len(text) > maxEntityBytes {
		text = text[:maxEntityBytes]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	doc, err := prose.NewDocument(text, prose.UsingModel(r.model), prose.WithSegmentation(false))
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

// englishSample is the English text of testdata/mix.jsonl and, when it is
// there, of the English dev set (read in place; EARSHOT_EVAL_DATA or the
// Makefile's default).
func englishSample(t testing.TB) []string {
	t.Helper()
	texts := mix(t, "en")
	dir := os.Getenv("EARSHOT_EVAL_DATA")
	if dir == "" {
		dir = "../../shared/data/sentiment/dev"
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "en*.jsonl"))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			var r struct{ Text string }
			if json.Unmarshal(sc.Bytes(), &r) == nil && r.Text != "" {
				texts = append(texts, r.Text)
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	return texts
}

// entityCases exercise each rule of prose's tagger and chunker.
var entityCases = []struct{ title, text string }{
	{"", "I flew United from Chicago to New York and John Smith at the Hilton was rude."},
	{"Terrible stay at the Marriott", "The manager, Mr. Brown, refused a refund. Never again, Hilton Worldwide!"},
	{"", "Emailed support@example.com and visited www.example.com/help twice :( no answer from Acme Corp."},
	{"", "@united flight UA 1234 on 2019-05-04 was delayed 3 hrs; Delta's app is better :-)"},
	{"", "* -LRB- -RRB- 0 - -- *T*-1 *-12 O.o xD ¯\\(ツ)/¯ the well-known NASA team in 1999, 2,000 $5 (really) [sic]"},
	{"", "don't won't they'll I'm she's we're Amazon's Jeff Bezos Seattle Washington"},
	{"", "Invalid \xff\xfe bytes near Paris, France and Zürich café Müller GmbH"},
	{"", ""},
	{"", "   "},
	{"", "i am not happy with the service at all"},
	{"", "BIG CAPITALS FROM GOOGLE AND MICROSOFT EMPLOYEES IN LONDON"},
	{"", "Dr. Who met Ms. Jones at St. Mary's Hospital, U.S.A., on Jan. 5th at 5:30pm +1234 -123"},
	{"", strings.Repeat("Bob Dylan in Berlin. ", 300)},
	// prose shares the token of a repeated word: the later tag wins.
	{"", "@SouthwestAir pls help me get this resolved &amp; reimbursement made. gracias, rico; pls send me private msg"},
	{"", "@JetBlue you're #59 on the list &amp; @VirginAtlantic is ranked higher! @VirginAtlantic here I come!"},
	{"", "I've lived here since 1979 and this was the first (and last) time I've stepped foot into this place."},
}

// TestEntitiesMatchProse: the re-indexed tagger and NER give prose's
// entities on the cases above and the English sample.
func TestEntitiesMatchProse(t *testing.T) {
	e, r := extractor(t), reference()
	for i, c := range entityCases {
		got, want := e.extract(c.title, c.text), r.extract(c.title, c.text)
		if !slices.Equal(got, want) {
			t.Errorf("case %d %q: got %q, prose %q", i, c.text, got, want)
		}
	}
	texts := englishSample(t)
	if testing.Short() && len(texts) > 200 {
		texts = texts[:200]
	}
	differ, withEnts := 0, 0
	for _, text := range texts {
		got, want := e.extract("", text), r.extract("", text)
		if len(want) > 0 {
			withEnts++
		}
		if !slices.Equal(got, want) {
			differ++
			t.Errorf("%q: got %q, prose %q", text, got, want)
		}
	}
	t.Logf("%d texts (%d with entities): %d differ from prose", len(texts), withEnts, differ)
}

// TestEntitiesConcurrent: the extractor holds no lock, so concurrent calls
// must give the sequential answers (run with -race).
func TestEntitiesConcurrent(t *testing.T) {
	e := extractor(t)
	texts := mix(t, "en")
	for _, c := range entityCases {
		texts = append(texts, c.title+". "+c.text)
	}
	want := make([][]string, len(texts))
	for i, text := range texts {
		want[i] = e.extract("", text)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8*len(texts))
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range texts {
				i := (k + g*7) % len(texts)
				if got := e.extract("", texts[i]); !slices.Equal(got, want[i]) {
					errs <- fmt.Sprintf("%q: got %q, want %q", texts[i], got, want[i])
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// proseShape is prose v2.0.0's shape (extract.go), verbatim.
func proseShape(word string) string {
	if _, err := strconv.ParseFloat(word, 64); err == nil {
		return "number"
	} else if match, _ := regexp.MatchString(`\W+$`, word); match {
		return "punct"
	} else if match, _ := regexp.MatchString(`\w+$`, word); match {
		if strings.ToLower(word) == word {
			return "downcase"
		} else if strings.Title(word) == word { //nolint:staticcheck // prose's code
			return "upcase"
		}
		return "mixedcase"
	}
	return "other"
}

func TestWordShape(t *testing.T) {
	words := []string{"", "12", "-1.5e3", "Inf", "nan", "+.5", "0x1p-2", "1_000", "infinite", "Paris",
		"NASA", "iPhone", "well-known", "Well-Known", "U.S.", "café", "Café", "caf\xff", "\xff", "x_", "_",
		"McDonald", ":)", "ÉCOLE", "été", "a1", "A1b", "1st", "ǅemal", "Σ"}
	for _, text := range englishSample(t) {
		words = append(words, strings.Fields(text)...)
	}
	for _, w := range words {
		if got, want := wordShape(w), proseShape(w); got != want {
			t.Errorf("wordShape(%q) = %q, prose %q", w, got, want)
		}
	}
}
