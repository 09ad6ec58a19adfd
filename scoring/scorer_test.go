package scoring

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot/earshot/config"
	"github.com/earshot/earshot/mention"
)

var (
	shared     *Scorer
	sharedOnce sync.Once
)

// testScorer is built once: loading every lexicon takes a few ms, prose a
// little longer.
func testScorer(t testing.TB) *Scorer {
	t.Helper()
	sharedOnce.Do(func() {
		s, err := New(Options{Entities: true, Rules: []config.BrandRule{
			{Brand: "Killer Burger", NeverFlag: []string{"killer burger"}, AlwaysFlag: []string{"found a hair"}, Aspects: map[string][]string{"quality": {"patty", "bun"}}},
		}})
		if err != nil {
			panic(err)
		}
		shared = s
	})
	return shared
}

func TestScoreLanguages(t *testing.T) {
	s := testScorer(t)
	tests := []struct {
		name     string
		lang     string // given; empty: detected
		text     string
		negative bool
		detect   string   // expected language when detected
		aspects  []string // subset
		signals  []string // subset
		reason   string   // substring of some reason
	}{
		// English
		{"en plain complaint", "", "The room was filthy and the receptionist was rude.", true, "en", []string{"cleanliness", "staff"}, nil, `"filthy"`},
		{"en negated praise", "", "The food was not good at all.", true, "en", nil, nil, `"not good"`},
		{"en negated criticism is faint praise", "", "Honestly not bad at all for the price.", false, "en", nil, nil, ""},
		{"en contrast: the later clause decides", "", "The location is great, but the staff were rude and the wait was endless.", true, "en", []string{"staff"}, nil, `contrast "but"`},
		{"en aspects only from negative clauses", "", "Friendly staff, but the bathroom was filthy and smelled.", true, "en", []string{"cleanliness"}, nil, ""},
		{"en praise with contrast the other way", "", "A bit slow at check-in, but the staff were lovely and the room was spotless.", false, "en", nil, nil, ""},
		{"en legal threat", "", "You overcharged me twice. My lawyer will hear about this.", true, "en", []string{"billing"}, []string{"legal"}, "signal legal"},
		{"en churn", "", "Worst airline ever, never flying with you again. Cancelling my membership.", true, "en", nil, []string{"churn"}, ""},
		{"en abuse", "", "Your staff are idiots and the service is shit.", true, "en", []string{"staff"}, []string{"abuse"}, ""},
		{"en capitals and exclamation", "", "TERRIBLE service!!!", true, "en", nil, nil, ""},
		{"en neutral question", "", "What time does the pool open on Sundays?", false, "en", nil, nil, ""},
		{"en elongated", "", "sooooo baaaad", true, "en", nil, nil, ""},
		{"emoji only", "", "😡😡👎", true, "", nil, nil, "negative:"},
		// Russian
		{"ru complaint", "", "Ужасный сервис, деньги списали дважды, поддержка не отвечает.", true, "ru", []string{"billing"}, nil, ""},
		{"ru negation", "", "Не рекомендую этот банк никому.", true, "ru", nil, nil, ""},
		{"ru praise", "", "Отличный сервис, спасибо большое!", false, "ru", nil, nil, ""},
		{"ru contrast", "", "Номер хороший, но персонал хамит и грязно в ванной.", true, "ru", []string{"staff", "cleanliness"}, nil, `contrast "но"`},
		// Hindi: negation after the word
		{"hi negation after", "", "खाना अच्छा नहीं था।", true, "hi", nil, nil, "नहीं"},
		{"hi complaint", "", "बहुत खराब उत्पाद, पैसे की बर्बादी। मत खरीदो।", true, "hi", nil, nil, ""},
		{"hi praise", "", "बहुत बढ़िया फोन है, बैटरी शानदार है।", false, "hi", nil, nil, ""},
		// Croatian, Bosnian, Serbian (Latin and Cyrillic)
		{"hr complaint", "", "Soba je bila prljava, a osoblje jako neljubazno.", true, "hr", []string{"cleanliness", "staff"}, nil, ""},
		{"hr negation", "", "Klima nije radila, a doručak nije bio dobar.", true, "hr", nil, nil, ""},
		{"hr without diacritics", "", "uzasno iskustvo, cekali smo predugo", true, "hr", []string{"wait"}, nil, ""},
		{"hr praise", "", "Odlična hrana i ljubazno osoblje, sve preporuke!", false, "hr", nil, nil, ""},
		{"sr cyrillic", "", "Лоша услуга и непријатно особље. Никад више.", true, "sr", []string{"staff"}, []string{"churn"}, ""},
		{"bs given", "bs", "Dostava kasnila dva sata, hrana stigla hladna.", true, "", []string{"delivery"}, nil, ""},
		// Tagalog / Taglish
		{"tl complaint", "", "Ang pangit ng quality, sira agad. Hindi na ako bibili ulit.", true, "tl", []string{"quality"}, []string{"churn"}, ""},
		{"tl negation", "", "Hindi maganda ang tela, manipis.", true, "tl", nil, nil, ""},
		{"tl praise", "", "Ang ganda ng item, sulit na sulit! Salamat po seller.", false, "tl", nil, nil, ""},
		// Issue 13's third pass: words found missing, one per category.
		{"hi don't waste (न after the word is not a negated complaint)", "hi", "अपने पैसे इस पर बर्बाद न करें।", true, "", nil, nil, `"बर्बाद न करें"`},
		{"hi not worth it", "hi", "यह कीमत के लायक नहीं है।", true, "", nil, nil, "लायक"},
		{"tl stopped working", "tl", "Ayaw na gumana after 2 days, sayang pera.", true, "", nil, nil, `"ayaw na gumana"`},
		{"fr news negativity", "fr", "Éoliennes : avis défavorable de l'enquête publique, le projet est menacé.", true, "", nil, nil, `"defavorable"`},
		{"de emoticon", "de", "Kann erst später schreiben ;(", true, "", nil, nil, `";("`},
		{"en misspelt disappointment", "en", "Very dissapointed, sending it back.", true, "", nil, nil, `"dissapointed"`},
		{"id slang", "id", "Barangnya zonk, lemot banget.", true, "", nil, nil, `"zonk"`},
		{"ru 'not only' opens no negation", "ru", "Сбербанк теперь лидер не только на банковском рынке, но и на пенсионном.", false, "", nil, nil, ""},
		{"en 'don't forget' is no complaint", "en", "Don't forget the promo code at checkout.", false, "", nil, nil, ""},
		{"en a negation beside it still counts", "en", "Don't forget: the refund never arrived.", true, "", nil, nil, ""},
		// Issue 13's fourth pass: one row per kind of word added.
		{"ru 'your fault'", "ru", "Это всё по вашей вине", true, "", nil, nil, `"по вашей вине"`},
		{"ru 'пиздец как' intensifies praise", "ru", "пиздец как вкусно", false, "", nil, nil, ""},
		{"ar bare 'ينصب' is 'focused on'", "ar", "تركيزنا ينصب على راحة العملاء", false, "", nil, nil, ""},
		{"ru misspelt abuse", "ru", "мтс гавно, лет 10 им пользовался", true, "", nil, []string{"abuse"}, `"гавн`},
		{"ru false advertising", "ru", "ФАС возбудила дело на МТС за ложь в рекламе", true, "", nil, nil, `"ложь"`},
		{"id device hangs, one-sided company", "id", "Handphone tiba-tiba ngehank, perusahaan macam apa ini", true, "", nil, nil, `"ngehank"`},
		{"ar 'لا' joined to its verb", "ar", "كويس بس السماعه لاتعمل", true, "", nil, nil, `"لاتعمل"`},
		{"ar hair in the meal", "ar", "لقيت شعره في الوجبه", true, "", []string{"cleanliness"}, nil, ""},
		{"hi not enough", "hi", "चमक पर्याप्त नहीं है.", true, "", nil, nil, `"पर्याप्त नहीं"`},
		{"hi 'no doubt' opens no negation", "hi", "कोई संदेह नहीं कि अच्छी घड़ी है", false, "", nil, nil, ""},
		// Armenian: negation particle after or before
		{"hy complaint", "", "Սենյակը կեղտոտ էր, և անձնակազմը կոպիտ էր։", true, "hy", []string{"cleanliness", "staff"}, nil, ""},
		{"hy negation", "", "Սնունդը լավ չէր։", true, "hy", nil, nil, ""},
		{"hy praise", "", "Հիանալի հյուրանոց, շատ լավ սպասարկում։", false, "hy", nil, nil, ""},
		// Next languages
		{"de", "", "Das Personal war unfreundlich und das Zimmer dreckig. Nie wieder!", true, "de", []string{"staff", "cleanliness"}, []string{"churn"}, ""},
		{"fr", "", "Service nul, personnel désagréable, je déconseille.", true, "fr", []string{"staff"}, nil, ""},
		{"pt", "", "Atendimento péssimo, não recomendo.", true, "pt", []string{"staff"}, nil, ""},
		{"es", "", "La comida estaba fría y el camarero fue muy grosero.", true, "es", []string{"staff"}, nil, ""},
		{"id", "", "Pelayanan sangat lambat dan makanannya tidak enak.", true, "id", nil, nil, ""},
		{"ar", "", "الخدمه سيئه جدا والاكل بارد", true, "ar", nil, nil, ""},
		{"uk", "", "Жахливий сервіс, не рекомендую.", true, "uk", nil, nil, ""},
		{"pl", "", "Obsługa niemiła, jedzenie zimne. Nie polecam.", true, "pl", nil, nil, ""},
		{"tr", "", "Personel çok kaba, yemekler berbat.", true, "tr", nil, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mention.Mention{Text: tt.text, Lang: tt.lang}
			s.ScoreMention(&m)
			if m.Negative != tt.negative {
				t.Errorf("negative = %v, want %v (sentiment %v, reasons %q)", m.Negative, tt.negative, m.Sentiment, m.Reasons)
			}
			if tt.detect != "" && m.Lang != tt.detect {
				t.Errorf("lang = %q, want %q", m.Lang, tt.detect)
			}
			for _, a := range tt.aspects {
				if !slices.Contains(m.Aspects, a) {
					t.Errorf("aspects %v lack %q (reasons %q)", m.Aspects, a, m.Reasons)
				}
			}
			for _, sg := range tt.signals {
				if !slices.Contains(m.Signals, sg) {
					t.Errorf("signals %v lack %q (reasons %q)", m.Signals, sg, m.Reasons)
				}
			}
			if tt.reason != "" && !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, tt.reason) }) {
				t.Errorf("reasons %q lack %q", m.Reasons, tt.reason)
			}
			if m.Negative == (m.Severity == "none") {
				t.Errorf("negative %v with severity %q", m.Negative, m.Severity)
			}
			if !m.Negative && (len(m.Aspects) > 0 || len(m.Signals) > 0) {
				t.Errorf("not negative but aspects %v signals %v", m.Aspects, m.Signals)
			}
			if m.ScorerVersion != Version {
				t.Errorf("scorer_version %q", m.ScorerVersion)
			}
		})
	}
}

func TestRatingDominates(t *testing.T) {
	s := testScorer(t)
	tests := []struct {
		text     string
		rating   float64
		negative bool
	}{
		{"Lovely place, great staff.", 1, true},                                // 1/5 is negative whatever the words
		{"Lovely place, great staff.", 2, true},                                //
		{"Terrible, dirty, rude.", 5, false},                                   // 5/5: the text does not override the stars
		{"Terrible, dirty, rude.", 4, false},                                   //
		{"Room fine, but the wifi never worked and staff were rude.", 3, true}, // 3/5: the text decides
		{"Nice enough.", 3, false},
	}
	for _, tt := range tests {
		m := mention.Mention{Text: tt.text, Rating: tt.rating, RatingMax: 5}
		s.ScoreMention(&m)
		if m.Negative != tt.negative {
			t.Errorf("%q at %v/5: negative=%v, want %v (%q)", tt.text, tt.rating, m.Negative, tt.negative, m.Reasons)
		}
		if !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.HasPrefix(r, "rating ") }) {
			t.Errorf("%q: reasons %q do not name the rating", tt.text, m.Reasons)
		}
	}
}

func TestSeverity(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	s, err := New(Options{Languages: []string{"en"}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    mention.Mention
		want string
	}{
		{"mild", mention.Mention{Text: "The coffee was a bit cold."}, "low"},
		{"strong", mention.Mention{Text: "Absolutely disgusting, filthy room and horrible rude staff!"}, "medium"},
		{"health", mention.Mention{Text: "We got food poisoning after dinner here."}, "critical"},
		{"legal", mention.Mention{Text: "Overcharged again, I'm calling my lawyer."}, "high"},
		{"viral", mention.Mention{Text: "Rude staff at the front desk.", Followers: 250000}, "medium"},
		{"engagement", mention.Mention{Text: "Rude staff at the front desk.", Likes: 40, Shares: 20}, "medium"},
		{"stale", mention.Mention{Text: "We got food poisoning after dinner here.", PublishedAt: now.AddDate(0, -2, 0)}, "high"},
		{"positive", mention.Mention{Text: "Wonderful stay."}, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			s.ScoreMention(&m)
			if m.Severity != tt.want {
				t.Errorf("severity %q, want %q (reasons %q)", m.Severity, tt.want, m.Reasons)
			}
		})
	}
}

func TestBrandRules(t *testing.T) {
	s := testScorer(t)
	tests := []struct {
		name, brand, text string
		negative          bool
		aspect, reason    string
	}{
		{"product name is not a threat", "Killer Burger", "Killer Burger was awesome tonight.", false, "", ""},
		{"other brands keep the word", "Other", "That waiter was a killer. Awful place.", true, "", ""},
		{"always flag", "Killer Burger", "Found a hair in my fries.", true, "", "always flag"},
		{"brand aspect words", "Killer Burger", "The patty was raw and disgusting.", true, "quality", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mention.Mention{Brand: tt.brand, Text: tt.text}
			s.ScoreMention(&m)
			if m.Negative != tt.negative {
				t.Errorf("negative %v, want %v (%q)", m.Negative, tt.negative, m.Reasons)
			}
			if tt.aspect != "" && !slices.Contains(m.Aspects, tt.aspect) {
				t.Errorf("aspects %v lack %q", m.Aspects, tt.aspect)
			}
			if tt.reason != "" && !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, tt.reason) }) {
				t.Errorf("reasons %q lack %q", m.Reasons, tt.reason)
			}
		})
	}
}

func TestLowConfidenceIsNeutral(t *testing.T) {
	s, err := New(Options{Languages: []string{"en", "de"}, MinConfidence: 0.9})
	if err != nil {
		t.Fatal(err)
	}
	m := mention.Mention{Text: "Rather slow."}
	s.ScoreMention(&m)
	if m.Negative || !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, "low confidence") }) {
		t.Errorf("weak evidence: negative=%v reasons %q; want neutral with a low-confidence reason", m.Negative, m.Reasons)
	}
}

type fakeHistory map[string]int

func (f fakeHistory) PriorNegatives(_ context.Context, brand string, authors []string, _ time.Time) (map[string]int, error) {
	out := map[string]int{}
	for _, a := range authors {
		if n := f[brand+"/"+a]; n > 0 {
			out[a] = n
		}
	}
	return out, nil
}

func TestRepeatCustomer(t *testing.T) {
	s, err := New(Options{Languages: []string{"en"}, History: fakeHistory{"Acme/ann": 2}})
	if err != nil {
		t.Fatal(err)
	}
	ms := []mention.Mention{
		{Brand: "Acme", Author: "ann", Text: "Rude staff again."},
		{Brand: "Acme", Author: "bob", Text: "Dirty tables."},
		{Brand: "Acme", Author: "bob", Text: "Still dirty tables, awful."},
		{Brand: "Acme", Author: "cid", Text: "Dirty tables."},
		{Brand: "Other", Author: "ann", Text: "Rude staff."},
	}
	if err := s.Score(context.Background(), ms); err != nil {
		t.Fatal(err)
	}
	want := []bool{true, true, true, false, false}
	for i, m := range ms {
		if got := slices.Contains(m.Signals, "repeat_customer"); got != want[i] {
			t.Errorf("%d %s/%s: repeat_customer %v, want %v (%q)", i, m.Brand, m.Author, got, want[i], m.Reasons)
		}
	}
}

func TestEntities(t *testing.T) {
	s := testScorer(t)
	m := mention.Mention{Text: "Maria at the front desk of the Hilton in Chicago was extremely rude to us."}
	s.ScoreMention(&m)
	if !m.Negative || !slices.ContainsFunc(m.Entities, func(e string) bool { return strings.HasPrefix(e, "Maria (") }) {
		t.Errorf("entities %v: want Maria", m.Entities)
	}
	m = mention.Mention{Text: "Maria at the front desk was lovely."}
	s.ScoreMention(&m)
	if len(m.Entities) != 0 {
		t.Errorf("entities extracted for a positive mention: %v", m.Entities)
	}
}

func TestLanguageRestriction(t *testing.T) {
	s, err := New(Options{Languages: []string{"hr", "en"}})
	if err != nil {
		t.Fatal(err)
	}
	m := mention.Mention{Text: "Lokacija dobra, ali soba prljava."}
	s.ScoreMention(&m)
	if m.Lang != "hr" || !m.Negative {
		t.Errorf("lang %q negative %v", m.Lang, m.Negative)
	}
	if _, err := New(Options{Languages: []string{"xx"}}); err == nil {
		t.Error("unknown language accepted")
	}
}

func TestLexiconsParse(t *testing.T) {
	for _, l := range append([]string{"emoji"}, Languages()...) {
		lx, err := loadLexicon(lexLang(l))
		if err != nil {
			t.Fatal(err)
		}
		if len(lx.words)+len(lx.prefixes) < 30 {
			t.Errorf("%s: only %d entries", l, len(lx.words)+len(lx.prefixes))
		}
	}
	bad := []string{"[sentiment]\nbad\n", "[aspect]\nx\n", "[bogus]\nx\n", "x 1\n", "[sentiment]\nbad zero\n"}
	for _, b := range bad {
		if _, err := parseLexicon("xx", "xx.txt", []byte(b)); err == nil {
			t.Errorf("accepted %q", b)
		}
	}
}

// TestLexiconDuplicates: an entry written twice in one section, or a
// spelling that folds onto an earlier entry with another value, is refused
// with both lines named (the later valence would otherwise win silently);
// variants that fold together with the same value, and one word in two
// sections, are fine.
func TestLexiconDuplicates(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		errs       []string
	}{
		{"re-entered", "[sentiment]\nscam -3\nbad -2\nscam -3\n", []string{`xx.txt:4: "scam" is already in [sentiment] at line 2`}},
		{"re-valued", "[sentiment]\nscam -3.2\n\nscam -3\n", []string{`xx.txt:4: "scam" would re-value "scam" (-3.2 -> -3) in [sentiment] at line 2`}},
		{"folded re-valued", "[sentiment]\nblod* -2.4\nblöd* -2.2\n", []string{`xx.txt:3: "blöd*" would re-value "blod*" (-2.4 -> -2.2) in [sentiment] at line 2`}},
		{"every line named", "[sentiment]\na -1\na -1\n[aspect staff]\nwaiter\nwaiter\n", []string{`xx.txt:3: "a" is already`, `xx.txt:6: "waiter" is already in [aspect staff] at line 5`}},
		{"folded same value", "[sentiment]\nblod* -2.2\nblöd* -2.2\n", nil},
		{"a variant re-entered", "[sentiment]\nblöd* -2.2\nblod* -2.2\nblod* -2.2\n", []string{`xx.txt:4: "blod*" is already in [sentiment] at line 3`}},
		{"case only", "[sentiment]\nScam -3\nscam -3\n", []string{`xx.txt:3: "scam" is already in [sentiment] at line 2`}},
		{"two sections", "[sentiment]\nrude -2\n[aspect staff]\nrude\n[aspect wait]\nrude\n", nil},
		{"negation and after", "[negation]\nnahi\n[negation after]\nnahi\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseLexicon("xx", "xx.txt", []byte(tc.text))
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range tc.errs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q\nlacks %q", err, want)
				}
			}
		})
	}
}

// TestEveryLanguageHasALexicon: each language of the one list
// (mention.Languages, which config validates against) loads.
func TestEveryLanguageHasALexicon(t *testing.T) {
	for _, l := range Languages() {
		if _, err := New(Options{Languages: []string{l}}); err != nil {
			t.Errorf("%s: %v", l, err)
		}
	}
}

// TestPageLangHint: a page's lang attribute is a hint the text overrules
// when detection is confident; a language the source or the review itself
// gives is kept.
func TestPageLangHint(t *testing.T) {
	s := testScorer(t)
	fr := "Le personnel était très impoli et la chambre était sale, nous ne reviendrons jamais dans cet hôtel."
	for _, tc := range []struct {
		name     string
		m        mention.Mention
		wantLang string
	}{
		{"page says en, text is French", mention.Mention{Text: fr, Lang: "en", LangFromPage: true}, "fr"},
		{"source says en: kept", mention.Mention{Text: fr, Lang: "en"}, "en"},
		{"page says fr, text is French", mention.Mention{Text: fr, Lang: "fr", LangFromPage: true}, "fr"},
		{"too short to overrule the page", mention.Mention{Text: "Très impoli.", Lang: "en", LangFromPage: true}, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			s.ScoreMention(&m)
			if m.Lang != tc.wantLang {
				t.Errorf("lang %q, want %q (reasons %v)", m.Lang, tc.wantLang, m.Reasons)
			}
		})
	}
}

// TestRatingOnlyReviewIsNegative: a 1-2 star review without words (kept by
// the collectors since issue 14) is a negative experience: it opens a case.
func TestRatingOnlyReviewIsNegative(t *testing.T) {
	s := testScorer(t)
	for _, tc := range []struct {
		rating float64
		want   bool
	}{{1, true}, {2, true}, {4, false}} {
		m := mention.Mention{Author: "Ana", Rating: tc.rating, RatingMax: 5}
		s.ScoreMention(&m)
		if m.Negative != tc.want {
			t.Errorf("%v/5 without words: negative %v, want %v (%v)", tc.rating, m.Negative, tc.want, m.Reasons)
		}
	}
}
