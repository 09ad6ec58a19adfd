package mention

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// oldNormalise and oldStoryID are the implementations before the
// allocation-free rewrite, kept as the reference the new ones must match.
func oldNormalise(s string) string {
	var b strings.Builder
	space := false
	for _, r := range strings.ToLower(s) {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			space = false
		} else {
			space = true
		}
	}
	return b.String()
}

func oldStoryID(id, author, text string) string {
	t := oldNormalise(text)
	if utf8.RuneCountInString(t) < minStoryRunes {
		return id
	}
	h := sha256.Sum256([]byte(oldNormalise(author) + "\x00" + t))
	return "story:" + hex.EncodeToString(h[:12])
}

var trickyTexts = []string{
	"",
	"   ",
	"Great!",
	"The receptionist was RUDE, and our room was not cleaned for three days!! ",
	"caf\xe9 au lait was cold and the waiter \xff\xfe ignored us for forty-five minutes",
	"\xed\xa0\x80 surrogate half, \xc0\xaf overlong, \xf4\x90\x80\x80 beyond U+10FFFF, then text text text",
	"tab\there\x00nul\x01ctl\x7fdel\r\nnewline — and more words to pass forty runes",
	"<p>The <b>staff</b> were &amp; <script>alert(1)</script> rude</p><br/>to us all evening long",
	"ŽIVJELI! Osoblje je bilo neljubazno, soba prljava — nikad više. ĆČĐŠŽ ćčđšž",
	"Ἀθῆναι ΣΊΣΥΦΟΣ ὈΔΥΣΣΕΎΣ İstanbul KELVIN\u212a Ǆ ǅ ǆ ﬃ ß ẞ",
	"日本語のレビュー：スタッフがとても失礼でした。部屋も汚かったです。二度と行きません。",
	"😡😡😡 worst 👎🏽 experience 💩 ever, 10/10 would not recommend 🙅‍♀️ at all, no",
	"١٢٣ ٤٥٦ Arabic-Indic digits ⅻ roman Ⅻ and ² superscript ½ fraction and more text",
	strings.Repeat("Wait 45 min at desk; ", 4000),
	strings.Repeat("ж\xffЖ", 30000),
	strings.Repeat("a", MaxTextBytes+10),
}

func TestNormaliseMatchesOld(t *testing.T) {
	for i, s := range trickyTexts {
		got, runes := appendNormalised(nil, s)
		if want := oldNormalise(s); string(got) != want {
			t.Errorf("text %d: normalised %.80q, want %.80q", i, got, want)
		}
		if want := utf8.RuneCountInString(oldNormalise(s)); runes != want {
			t.Errorf("text %d: %d runes, want %d", i, runes, want)
		}
		for _, author := range []string{"", "Ana K.", "\xff ANA \u212a", trickyTexts[len(trickyTexts)-3]} {
			if got, want := StoryID("x:1", author, s), oldStoryID("x:1", author, s); got != want {
				t.Errorf("text %d author %.20q: story %s, want %s", i, author, got, want)
			}
		}
	}
}

// TestNormalizeMatchesOld: a whole Normalize over tricky fields gives the
// story id the old code gave for the cleaned fields.
func TestNormalizeMatchesOld(t *testing.T) {
	for i, s := range trickyTexts {
		m := Mention{ID: "k:1", Author: " Ana\x01 ", Text: s, Title: "t"}
		if err := m.Normalize(now); err != nil {
			t.Fatalf("text %d: %v", i, err)
		}
		if want := oldStoryID(m.ID, m.Author, m.Text); m.StoryID != want {
			t.Errorf("text %d: story %s, want %s", i, m.StoryID, want)
		}
	}
}

func FuzzStoryID(f *testing.F) {
	for _, s := range trickyTexts[:13] {
		f.Add("Ana K.", s)
	}
	f.Fuzz(func(t *testing.T, author, text string) {
		if got, want := StoryID("x:1", author, text), oldStoryID("x:1", author, text); got != want {
			t.Errorf("StoryID(%q, %q) = %s, want %s", author, text, got, want)
		}
	})
}

func BenchmarkStoryID(b *testing.B) {
	text := trickyTexts[3] + trickyTexts[8] + trickyTexts[7]
	b.ReportAllocs()
	for b.Loop() {
		StoryID("x:1", "Ana K.", text)
	}
}

func BenchmarkOldStoryID(b *testing.B) {
	text := trickyTexts[3] + trickyTexts[8] + trickyTexts[7]
	b.ReportAllocs()
	for b.Loop() {
		oldStoryID("x:1", "Ana K.", text)
	}
}

// TestNormaliseTableRunes: the table agrees with unicode for every rune of
// the Basic Multilingual Plane, and broken sequences are still separators.
func TestNormaliseTableRunes(t *testing.T) {
	var b strings.Builder
	for r := rune(0x80); r < 0x10000; r++ {
		b.WriteString("x")
		b.WriteRune(r)
		b.WriteString(" Y")
	}
	b.WriteString("\xc2 \xc2\xc0 \xc1\xbf \xdf \xe0\x80\x80 \xed\xa0\x80 \xef\xbf \xf0\x9f\x98\x80 \xf0\x90\x90\x80")
	s := b.String()
	if got, _ := appendNormalised(nil, s); string(got) != oldNormalise(s) {
		t.Error("runes normalise differently from strings.ToLower + unicode")
	}
}
