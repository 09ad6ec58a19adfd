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
			[]string{"Dear Tom,", "the long wait and how our staff treated you", "Ana Horvat, front office manager will personally"}, nil},
		{"croatian, bosnian alias", mention.Mention{Author: "Marko", Lang: "bs", Score: mention.Score{Aspects: []string{"cleanliness"}}}, "",
			[]string{"Poštovani/a Marko,", "čistoća", "Molimo odgovorite"}, nil},
		{"russian", mention.Mention{Lang: "ru", Score: mention.Score{Aspects: []string{"billing", "noise", "wait"}}}, "Иван",
			[]string{"Здравствуйте,", "проблема с оплатой, шум и долгое ожидание", "Иван лично"}, nil},
		{"hindi", mention.Mention{Author: "राहुल", Lang: "hi"}, "", []string{"प्रिय राहुल,", "आपका अनुभव अच्छा नहीं रहा"}, nil},
		{"tagalog", mention.Mention{Author: "Juan", Lang: "tl", Score: mention.Score{Aspects: []string{"staff"}}}, "Maria", []string{"Mahal na Juan,", "Si Maria po"}, nil},
		{"armenian", mention.Mention{Author: "Անի", Lang: "hy"}, "", []string{"Հարգելի Անի,"}, nil},
		{"abusive stays calm", mention.Mention{Author: "IdiotHunter", Lang: "en", Score: mention.Score{Signals: []string{"abuse"}, Aspects: []string{"staff"}}}, "",
			[]string{"Hello,", "We understand you are upset"}, []string{"IdiotHunter", "staff"}},
		{"unknown language falls back", mention.Mention{Author: "Hans", Lang: "de"}, "", []string{"Dear Hans,"}, nil},
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
