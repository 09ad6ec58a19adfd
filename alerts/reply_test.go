package alerts

import (
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

func TestSuggestReply(t *testing.T) {
	tests := []struct {
		name    string
		m       mention.Mention
		contact string
		want    []string
		not     []string
	}{
		{"english with aspects", mention.Mention{Author: "Tom", Lang: "en", Score: mention.Score{Aspects: []string{"wait", "staff"}}}, "Ana Horvat, front office manager",
			[]string{"Dear Tom,", "We are sorry about the long wait and how our staff treated you.", "Ana Horvat, front office manager will look into this personally."}, nil},
		{"english without aspects", mention.Mention{Lang: "en"}, "",
			[]string{"Hello,", "We are sorry that your experience with us was not what it should have been.", "Please reply here"}, []string{"sorry about"}},
		{"croatian, bosnian alias", mention.Mention{Author: "Marko", Lang: "bs", Score: mention.Score{Aspects: []string{"cleanliness"}}}, "",
			[]string{"Poštovani/a Marko,", "Ispričavamo se zbog nedovoljne čistoće.", "Molimo Vas da odgovorite"}, nil},
		{"croatian genitive list", mention.Mention{Lang: "hr", Score: mention.Score{Aspects: []string{"wait", "billing", "noise"}}}, "Ana Horvat, voditeljica recepcije",
			[]string{"Ispričavamo se zbog dugog čekanja, problema s naplatom i buke.", "Ovim će se osobno pozabaviti Ana Horvat."}, []string{"voditeljica", "Žao nam je zbog problema:"}},
		{"russian accusative list", mention.Mention{Lang: "ru", Score: mention.Score{Aspects: []string{"billing", "noise", "wait"}}}, "Иван",
			[]string{"Здравствуйте!", "Приносим извинения за проблему с оплатой, шум и долгое ожидание.", "Этим вопросом лично займётся Иван."}, []string{"Нам очень жаль:"}},
		{"russian, one aspect", mention.Mention{Author: "Ольга", Lang: "ru", Score: mention.Score{Aspects: []string{"wait"}}}, "",
			[]string{"Здравствуйте, Ольга!", "Приносим извинения за долгое ожидание.", "Пожалуйста, ответьте здесь"}, []string{"Нам очень жаль: долгое ожидание."}},
		{"russian, no english title", mention.Mention{Lang: "ru"}, "Ana Horvat, front office manager",
			[]string{"Нам очень жаль, что вы остались недовольны.", "Этим вопросом лично займётся Ana Horvat."}, []string{"front office manager"}},
		{"hindi oblique", mention.Mention{Author: "राहुल", Lang: "hi", Score: mention.Score{Aspects: []string{"wait", "staff"}}}, "Priya Sharma, guest relations",
			[]string{"प्रिय राहुल,", "लंबे इंतज़ार और हमारे कर्मचारियों के व्यवहार के लिए हमें खेद है।", "Priya Sharma स्वयं इस मामले को देखेंगे।"}, []string{"guest relations"}},
		{"hindi generic", mention.Mention{Author: "राहुल", Lang: "hi"}, "", []string{"हमें खेद है कि आपका अनुभव अच्छा नहीं रहा।"}, []string{"हमें खेद है:"}},
		{"tagalog", mention.Mention{Author: "Juan", Lang: "tl", Score: mention.Score{Aspects: []string{"staff"}}}, "Maria Santos, front desk",
			[]string{"Magandang araw po, Juan!", "Humihingi po kami ng paumanhin sa naging pakikitungo ng aming staff.", "Personal po itong aasikasuhin ni Maria Santos."},
			[]string{"front desk", "Paumanhin po sa "}},
		{"filipino alias", mention.Mention{Lang: "fil"}, "", []string{"Magandang araw po!", "Humihingi po kami ng paumanhin dahil"}, nil},
		{"armenian genitive", mention.Mention{Author: "Անի", Lang: "hy", Score: mention.Score{Aspects: []string{"wait"}}}, "Aram Petrosyan, manager",
			[]string{"Հարգելի Անի,", "Ներողություն ենք խնդրում երկար սպասելու համար։", "մեր ներկայացուցիչը՝ Aram Petrosyan։"}, []string{"manager", "-ն անձամբ", "Ցավում ենք՝"}},
		{"abusive stays calm", mention.Mention{Author: "IdiotHunter", Lang: "en", Score: mention.Score{Signals: []string{"abuse"}, Aspects: []string{"staff"}}}, "",
			[]string{"Hello,", "We understand that you are upset"}, []string{"IdiotHunter", "staff"}},
		{"unknown language falls back", mention.Mention{Author: "Hans", Lang: "de"}, "Ana Horvat, front office manager", []string{"Dear Hans,", "Ana Horvat, front office manager will"}, nil},
		{"handle is not a name", mention.Mention{Author: "did:plc:xyz", Lang: "en"}, "", []string{"Hello,"}, []string{"did:plc"}},
		{"hostile author", mention.Mention{Author: "Eve\r\nBcc: x", Lang: "en"}, "", nil, []string{"\r", "Bcc: x\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SuggestReply(tt.m, tt.contact)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("reply lacks %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("reply contains %q:\n%s", n, got)
				}
			}
		})
	}
}

// A localized contact is used whole in its language, the default elsewhere.
func TestSuggestReplyLocalizedContact(t *testing.T) {
	rc := ReplyContact{Default: "Ana Horvat, front office manager", ByLang: map[string]string{"ru": "Анна Хорват, администратор", "hr": "Ana Horvat, voditeljica recepcije"}}
	for lang, want := range map[string]string{
		"ru": "Этим вопросом лично займётся Анна Хорват, администратор.",
		"hr": "Ovim će se osobno pozabaviti Ana Horvat, voditeljica recepcije.",
		"bs": "Ovim će se osobno pozabaviti Ana Horvat, voditeljica recepcije.",
		"en": "Ana Horvat, front office manager will look into this personally.",
		"hy": "մեր ներկայացուցիչը՝ Ana Horvat։",
	} {
		if got := SuggestReplyTo(mention.Mention{Lang: lang}, rc); !strings.Contains(got, want) {
			t.Errorf("%s: lacks %q:\n%s", lang, want, got)
		}
	}
}

// Legal, health and safety complaints: no apology that admits fault, a
// move to a private channel, and advice to staff to escalate.
func TestSuggestReplySerious(t *testing.T) {
	apologies := map[string]string{"en": "sorry", "hr": "Ispričavamo", "ru": "извинения", "hi": "खेद", "tl": "paumanhin", "hy": "Ներողություն"}
	private := map[string]string{
		"en": "Please contact us directly; Ana Horvat will handle this personally.",
		"hr": "Molimo Vas da nam se izravno javite; Vašim upitom osobno će se baviti Ana Horvat.",
		"ru": "Пожалуйста, свяжитесь с нами напрямую: вашим обращением лично займётся Ana Horvat.",
		"hi": "कृपया हमसे सीधे संपर्क करें; इस मामले को Ana Horvat स्वयं देखेंगे।",
		"tl": "Mangyaring direktang makipag-ugnayan po sa amin; personal po itong hahawakan ni Ana Horvat.",
		"hy": "Խնդրում ենք անմիջապես կապվել մեզ հետ․ այս հարցով անձամբ կզբաղվի մեր ներկայացուցիչը՝ Ana Horvat։",
	}
	for _, sig := range []string{"legal", "health", "safety", "regulator"} {
		for lang, sorry := range apologies {
			m := mention.Mention{Author: "Tom", Lang: lang, Score: mention.Score{Signals: []string{sig}, Aspects: []string{"quality"}}}
			contact := "Ana Horvat, manager" // the title is English: only the name goes into other languages
			if lang == "en" {
				contact = "Ana Horvat"
			}
			got := SuggestReply(m, contact)
			if strings.Contains(got, sorry) || !strings.Contains(got, private[lang]) {
				t.Errorf("%s/%s: apologises (%q) or lacks %q:\n%s", sig, lang, sorry, private[lang], got)
			}
			if adv := ReplyAdvice(m); !strings.Contains(adv, "Escalate") || !strings.Contains(adv, "Do not admit fault or liability") || !strings.Contains(adv, sig) {
				t.Errorf("%s: advice %q", sig, adv)
			}
		}
	}
	if adv := ReplyAdvice(mention.Mention{Score: mention.Score{Signals: []string{"churn"}}}); adv != "" {
		t.Errorf("advice for a churn complaint: %q", adv)
	}
	// The advice reaches staff in the alert, before the reply.
	m := mention.Mention{ID: "x:1", Lang: "en", Text: "I got food poisoning.", Score: mention.Score{Negative: true, Severity: "critical", Signals: []string{"health"}}}
	c := Composer{}.Case(m)
	txt := Text(Message{Cases: []Case{c}})
	if i, j := strings.Index(txt, "BEFORE REPLYING: This complaint has health stakes. Escalate"), strings.Index(txt, "Suggested reply"); i < 0 || j < i {
		t.Errorf("advice missing or after the reply:\n%s", txt)
	}
	html, err := HTML(Message{Cases: []Case{c}})
	if err != nil || !strings.Contains(html, "<strong>Before replying:</strong> This complaint has health stakes.") {
		t.Errorf("html advice missing: %v\n%s", err, html)
	}
}
