package scoring

import (
	"strings"
	"testing"
	"time"
	"unicode"
)

func TestLangID(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ text, want, how string }{
		{"Բարև, շատ լավ ծառայություն էր", "hy", "script"},
		{"यह फ़ोन बहुत अच्छा है, battery भी ठीक है", "hi", "script"},
		{"الخدمة سيئة جدا", "ar", "script"},
		{"Доставка опоздала на три дня", "ru", "script"},
		{"Доставка запізнилася, їжа холодна", "uk", "script"},
		{"Храна је стигла хладна", "sr", "script"},
		// Mixed scripts: a script with a third of the letters decides.
		{"iPhone 15 Pro का कैमरा शानदार है", "hi", "script"},
		{"Isporuka je kasnila, ђаво", "hr", "lingua"},
		{"the delivery was late and the food was cold", "en", "function words"},
		{"die Lieferung war nicht pünktlich und das Essen kalt", "de", "function words"},
		{"Le Spitzberg, sentinelle du changement climatique http", "fr", "function words"},
		{"sentinelle climatique", "fr", "lingua"},
		// Latin-only text: lingua without Serbian, which it drops anyway.
		{"Suarez unverkäuflich, Gervinho", "de", "lingua"},
		// A few Cyrillic letters in Latin text: the detector with Serbian.
		{"Premier League Суарез unverkäuflich, Gervinho nicht verkauft", "de", "lingua"},
		{"😀😀", "", "no letters"},
	} {
		toks := tokenize(tt.text, nil)
		l, _, how := s.ids.detect(tt.text, toks)
		if l != tt.want || how != tt.how {
			t.Errorf("detect(%q) = %s (%s), want %s (%s)", tt.text, l, how, tt.want, tt.how)
		}
	}
}

// TestLinguaLatinDetector checks that leaving Serbian out of lingua for
// all-Latin text changes nothing, on the mix and short texts.
func TestLinguaLatinDetector(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, text := range mix(t, "") {
		if !strings.ContainsFunc(text, func(r rune) bool { return unicode.IsLetter(r) && !unicode.Is(unicode.Latin, r) }) {
			texts = append(texts, text)
		}
	}
	texts = append(texts, "ok", "wow", "gut", "Merci!", "obrigado demais", "hvala lijepa", "salamat po", "terima kasih", "Dziękuję bardzo", "çok güzel", "¡qué bueno!")
	for _, text := range texts {
		l1, ok1 := s.ids.det.DetectLanguageOf(text)
		l2, ok2 := s.ids.detLatin.DetectLanguageOf(text)
		if l1 != l2 || ok1 != ok2 {
			t.Errorf("%q: with Serbian %v %v, without %v %v", text, l1, ok1, l2, ok2)
		}
	}
}

func TestLinguaPrefix(t *testing.T) {
	short := "das Essen war kalt"
	if got := linguaPrefix(short); got != short {
		t.Errorf("short text cut: %q", got)
	}
	long := strings.Repeat("das Essen war kalt und ", 1000)
	p := linguaPrefix(long)
	if len(p) > maxLinguaBytes || !strings.HasPrefix(long, p) || strings.HasSuffix(p, " ") || !strings.HasSuffix(p, "und") && !strings.HasSuffix(p, "kalt") && !strings.HasSuffix(p, "war") && !strings.HasSuffix(p, "Essen") && !strings.HasSuffix(p, "das") {
		t.Errorf("prefix %d bytes ends %q", len(p), p[max(0, len(p)-20):])
	}
	if p := linguaPrefix(strings.Repeat("ä", 3000)); len(p) > maxLinguaBytes || !strings.HasPrefix(strings.Repeat("ä", 3000), p) || len(p)%2 != 0 {
		t.Errorf("no-space prefix cut a letter: %d bytes", len(p))
	}
	// A long review costs lingua no more than its first 4 KiB.
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	huge := strings.Repeat("Le service était lent, mais la chambre propre. ", 1400) // ~64 KiB
	t0 := time.Now()
	l, _, _ := s.ids.detect(huge, tokenize(huge, nil))
	if l != "fr" {
		t.Errorf("huge French text: %s", l)
	}
	t.Logf("64 KiB text: %v", time.Since(t0))
}
