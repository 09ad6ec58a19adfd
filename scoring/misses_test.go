package scoring

import (
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

// The misses found when Earshot was tried as a new user would (issue 13),
// each pinned here.

func scoreText(s *Scorer, text string) mention.Mention {
	m := mention.Mention{Text: text}
	s.ScoreMention(&m)
	return m
}

func atLeast(sev, want string) bool {
	return mention.SeverityRank(sev) >= mention.SeverityRank(want)
}

// TestMissSignals: escalation to a regulator or ombudsman, bed bugs and
// threats to go public on a social network raise their signals, and bed
// bugs make at least a medium severity in every language with a lexicon.
func TestMissSignals(t *testing.T) {
	s := testScorer(t)
	tests := []struct {
		name, text string
		signal     string
		minSev     string
	}{
		{"en regulator", "I have filed a complaint with the regulator about this bank.", "regulator", "low"},
		{"en ombudsman", "Going to the financial ombudsman with this.", "regulator", "low"},
		{"en cfpb", "They ignored three letters, so I reported them to the CFPB.", "regulator", "low"},
		{"en tiktok", "Rude staff and cold food. I am posting this on TikTok.", "media", "low"},
		{"en instagram", "Worst service ever, this is going up on my Instagram story.", "media", "low"},
		{"en youtube", "Broken on arrival and no refund, making a YouTube video about it.", "media", "low"},
		{"ru tiktok", "Хамство на кассе, выложу видео в тикток.", "media", "low"},
		{"ru ombudsman", "Банк не возвращает деньги, пишу финансовому уполномоченному.", "regulator", "low"},
		{"hr tiktok", "Osoblje je bilo bezobrazno, sve ću objaviti na TikToku.", "media", "low"},
		{"hy tiktok", "Սպասարկումը սարսափելի էր, տեսանյութը կտեղադրեմ TikTok-ում։", "media", "low"},
		{"tl tiktok", "Ang bastos ng staff, ipopost ko to sa TikTok.", "media", "low"},
		{"de ombudsman", "Das Geld kam nie zurück, ich schalte jetzt die Schlichtungsstelle ein.", "regulator", "low"},
		// Bed bugs in every language with a lexicon.
		{"en bed bugs", "Found bed bugs in the room.", "health", "medium"},
		{"en bedbugs", "Bedbugs everywhere, bitten all night.", "health", "medium"},
		{"ru bed bugs", "В номере были клопы.", "health", "medium"},
		{"uk bed bugs", "У номері були клопи.", "health", "medium"},
		{"hr bed bugs", "U sobi su bile stjenice.", "health", "medium"},
		{"sr bed bugs", "У соби је било стеница.", "health", "medium"},
		{"hi bed bugs", "कमरे में खटमल थे।", "health", "medium"},
		{"hy bed bugs", "Սենյակում փայտոջիլներ կային։", "health", "medium"},
		{"tl bed bugs", "May surot sa kama ng kwarto namin.", "health", "medium"},
		{"de bed bugs", "Im Zimmer gab es Bettwanzen.", "health", "medium"},
		{"fr bed bugs", "Il y avait des punaises de lit dans la chambre.", "health", "medium"},
		{"es bed bugs", "Había chinches en la cama del hotel.", "health", "medium"},
		{"pt bed bugs", "Tinha percevejos na cama do quarto.", "health", "medium"},
		{"it bed bugs", "Nella camera c'erano cimici dei letti.", "health", "medium"},
		{"nl bed bugs", "Er zaten bedwantsen in het bed van de kamer.", "health", "medium"},
		{"pl bed bugs", "W pokoju były pluskwy.", "health", "medium"},
		{"tr bed bugs", "Odada tahtakuruları vardı.", "health", "medium"},
		{"id bed bugs", "Kamarnya ada kutu busuk di kasur.", "health", "medium"},
		{"ar bed bugs", "وجدنا بق الفراش في الغرفة.", "health", "medium"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := scoreText(s, tt.text)
			if !m.Negative || !slices.Contains(m.Signals, tt.signal) || !atLeast(m.Severity, tt.minSev) {
				t.Errorf("negative %v, signals %v, severity %s; want %s and at least %s\n%s", m.Negative, m.Signals, m.Severity, tt.signal, tt.minSev, strings.Join(m.Reasons, "\n"))
			}
		})
	}
}

// TestMissSignalsNotRaised: the same words without the threat or the
// complaint raise nothing.
func TestMissSignalsNotRaised(t *testing.T) {
	s := testScorer(t)
	for _, text := range []string{
		"Loved the cake, will post it on Instagram!",
		"We found this place on TikTok and loved it.",
		"The voltage regulator works great.",
		"The food was great, another reason to come back.",
		"Сервис отличный, видео с отдыха выложу в инстаграм!",
	} {
		m := scoreText(s, text)
		if m.Negative || len(m.Signals) > 0 {
			t.Errorf("%q: negative %v, signals %v\n%s", text, m.Negative, m.Signals, strings.Join(m.Reasons, "\n"))
		}
	}
}

// TestMissSarcasm: the common sarcastic markers of the seed languages turn
// their praise word into a complaint.
func TestMissSarcasm(t *testing.T) {
	s := testScorer(t)
	for _, tt := range []struct{ lang, text string }{
		{"en", "Great, another delayed flight."},
		{"en", "Thanks for nothing."},
		{"en", "Oh great, they lost my bag."},
		{"ru", "Ага, конечно, приедут они вовремя."},
		{"ru", "Отлично, опять отключили интернет."},
		{"hi", "वाह रे सर्विस, तीन दिन से कोई जवाब नहीं।"},
		{"hr", "Ma da, sigurno će nazvati."},
		{"hr", "Hvala na ničemu."},
		{"tl", "Salamat sa wala, tatlong oras kami naghintay."},
		{"tl", "Edi wow, nag-cancel na naman sila."},
		{"hy", "Շնորհակալություն ոչնչի համար։"},
		{"hy", "Հա, իհարկե, հենց վաղը կզանգեն։"},
		{"de", "Na toll, der Zug fällt schon wieder aus."},
	} {
		m := mention.Mention{Text: tt.text, Lang: tt.lang}
		s.ScoreMention(&m)
		if !m.Negative || !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.HasPrefix(r, "sarcasm") }) {
			t.Errorf("%s %q: negative %v\n%s", tt.lang, tt.text, m.Negative, strings.Join(m.Reasons, "\n"))
		}
	}
}

// TestMissArmenian: "we won't come again" is churn; naming the room is not
// the booking aspect.
func TestMissArmenian(t *testing.T) {
	s := testScorer(t)
	m := scoreText(s, "Սպասարկումը շատ վատն էր, մենք էլ չենք գա։")
	if !m.Negative || !slices.Contains(m.Signals, "churn") {
		t.Errorf("churn: negative %v, signals %v\n%s", m.Negative, m.Signals, strings.Join(m.Reasons, "\n"))
	}
	m = scoreText(s, "Չենք գա այլևս։")
	if !m.Negative || !slices.Contains(m.Signals, "churn") {
		t.Errorf("short churn: negative %v, signals %v\n%s", m.Negative, m.Signals, strings.Join(m.Reasons, "\n"))
	}
	m = scoreText(s, "Սենյակը կեղտոտ էր, սավանները՝ բծերով։")
	if !m.Negative || slices.Contains(m.Aspects, "booking") || !slices.Contains(m.Aspects, "cleanliness") {
		t.Errorf("room: negative %v, aspects %v", m.Negative, m.Aspects)
	}
	m = scoreText(s, "Ամրագրումը չեղարկեցին առանց զգուշացման, շատ վատ վերաբերմունք։")
	if !slices.Contains(m.Aspects, "booking") {
		t.Errorf("booking: aspects %v\n%s", m.Aspects, strings.Join(m.Reasons, "\n"))
	}
}

// TestMissRomanisedHindi: Hinglish is Hindi (scored with the romanised
// section of hi.txt), not Tagalog, where "ganda" is praise.
func TestMissRomanisedHindi(t *testing.T) {
	s := testScorer(t)
	for _, tt := range []struct {
		text, lang string
		negative   bool
	}{
		{"Room bahut ganda tha", "hi", true},
		{"Service bilkul bekaar hai, dobara nahi aayenge.", "hi", true},
		{"Khana accha nahi tha aur staff bhi badtameez tha.", "hi", true},
		{"Delivery boy ne bahut der se diya, paisa barbad.", "hi", true},
		{"Hotel bahut accha tha, staff bhi friendly tha.", "hi", false},
		{"Ang ganda ng kwarto, sobrang linis!", "tl", false},
		{"Ang pangit ng serbisyo, hindi na kami babalik.", "tl", true},
		{"Makanannya enak banget, pelayanannya juga ramah.", "id", false},
	} {
		m := scoreText(s, tt.text)
		if m.Lang != tt.lang || m.Negative != tt.negative {
			t.Errorf("%q: lang %s negative %v, want %s %v\n%s", tt.text, m.Lang, m.Negative, tt.lang, tt.negative, strings.Join(m.Reasons, "\n"))
		}
	}
}

// TestMissCJK: text in a script without a lexicon is named for it (or
// und), never given a Latin-script language.
func TestMissCJK(t *testing.T) {
	s := testScorer(t)
	for _, tt := range []struct{ text, lang string }{
		{"服务很差，房间很脏，再也不来了。", "zh"},
		{"服務態度很差", "zh"},
		{"部屋が汚くて最悪でした。", "ja"},
		{"スタッフの対応がひどい", "ja"},
		{"방이 너무 더러웠어요. 다시는 안 갑니다.", "ko"},
		{"iPhone 배터리가 하루 만에 고장났어요", "ko"},
		{"Το δωμάτιο ήταν βρώμικο.", "el"},
		{"ห้องสกปรกมาก", "th"},
		{"অত্যন্ত খারাপ পরিষেবা", "und"},
	} {
		m := scoreText(s, tt.text)
		if m.Lang != tt.lang {
			t.Errorf("%q: lang %s, want %s (%s)", tt.text, m.Lang, tt.lang, strings.Join(m.Reasons, "; "))
		}
		// A page marked English does not make a short Chinese comment
		// English.
		m = mention.Mention{Text: tt.text, Lang: "en", LangFromPage: true}
		s.ScoreMention(&m)
		if m.Lang != tt.lang {
			t.Errorf("%q on an en page: lang %s, want %s (%s)", tt.text, m.Lang, tt.lang, strings.Join(m.Reasons, "; "))
		}
	}
}

// TestMissRatingWithoutMax: a rating without rating_max is read as out of 5
// when it is a whole or half star from 1 to 5, and otherwise the reasons
// say why it was ignored; never silently.
func TestMissRatingWithoutMax(t *testing.T) {
	s := testScorer(t)
	const neutral = "We stayed two nights in March."
	for _, tt := range []struct {
		rating, max   float64
		negative      bool
		wantMax       float64
		reasonContain string
	}{
		{1, 0, true, 5, "rating 1/5 (no rating_max given"},
		{2, 0, true, 5, "rating 2/5"},
		{5, 0, false, 5, "rating 5/5"},
		{1.5, 0, true, 5, "rating 1.5/5"},
		{7, 0, false, 0, "rating 7 ignored: no rating_max"},
		{0.3, 0, false, 0, "rating 0.3 ignored"},
		{6, 5, false, 5, "rating 6 ignored: above its rating_max 5"},
		{2, 10, true, 10, "rating 2/10"},
	} {
		m := mention.Mention{Text: neutral, Rating: tt.rating, RatingMax: tt.max}
		s.ScoreMention(&m)
		if m.Negative != tt.negative || m.RatingMax != tt.wantMax || !slices.ContainsFunc(m.Reasons, func(r string) bool { return strings.Contains(r, tt.reasonContain) }) {
			t.Errorf("rating %g/%g: negative %v rating_max %g, want %v %g and a reason with %q\n%s", tt.rating, tt.max, m.Negative, m.RatingMax, tt.negative, tt.wantMax, tt.reasonContain, strings.Join(m.Reasons, "\n"))
		}
	}
}
