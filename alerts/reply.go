package alerts

import (
	"fmt"
	"strings"

	"github.com/earshot/earshot/mention"
)

// replyLang holds one language's building blocks for a suggested reply.
type replyLang struct {
	greet   string // %s: the author's name
	greetNo string // no name known
	sorry   string // %s: the aspects, or the generic phrase
	generic string
	calm    string // for abusive posts: acknowledge feelings, no mirroring
	contact string // %s: who to contact
	noOne   string // no named contact configured
	close   string
	aspects map[string]string
	and     string
}

// replies are written to be sent after a person reads and personalises
// them: short, specific, apologetic, with a way to reach a human.
var replies = map[string]replyLang{
	"en": {"Dear %s,", "Hello,", "We are sorry about %s during your visit. This is not the experience we want for our guests.", "what went wrong",
		"We understand you are upset, and we want to look into what happened.", "%s will personally look into this; please reply here or write to us so we can put it right.",
		"Please reply here or write to us so we can put it right.", "Thank you for telling us.",
		map[string]string{"staff": "how our staff treated you", "wait": "the long wait", "billing": "the billing problem", "quality": "the quality",
			"cleanliness": "the cleanliness", "safety": "the safety concern", "delivery": "the delivery", "booking": "the booking problem",
			"communication": "how we communicated", "noise": "the noise"}, "and"},
	"hr": {"Poštovani/a %s,", "Poštovani,", "Žao nam je zbog problema: %s. To nije iskustvo koje želimo pružiti našim gostima.", "nešto nije bilo kako treba",
		"Razumijemo da ste uzrujani i želimo provjeriti što se dogodilo.", "%s osobno će se pozabaviti ovim; molimo odgovorite ovdje ili nam pišite kako bismo to ispravili.",
		"Molimo odgovorite ovdje ili nam pišite kako bismo to ispravili.", "Hvala Vam što ste nam rekli.",
		map[string]string{"staff": "odnos osoblja", "wait": "dugo čekanje", "billing": "naplata", "quality": "kvaliteta", "cleanliness": "čistoća",
			"safety": "sigurnost", "delivery": "dostava", "booking": "rezervacija", "communication": "komunikacija", "noise": "buka"}, "i"},
	"ru": {"Уважаемый(-ая) %s,", "Здравствуйте,", "Нам очень жаль: %s. Мы не хотим, чтобы наши гости сталкивались с таким.", "что-то пошло не так",
		"Мы понимаем ваше возмущение и хотим разобраться в том, что произошло.", "%s лично займётся этим вопросом; пожалуйста, ответьте здесь или напишите нам, чтобы мы могли всё исправить.",
		"Пожалуйста, ответьте здесь или напишите нам, чтобы мы могли всё исправить.", "Спасибо, что сообщили нам.",
		map[string]string{"staff": "отношение персонала", "wait": "долгое ожидание", "billing": "проблема с оплатой", "quality": "качество",
			"cleanliness": "чистота", "safety": "вопрос безопасности", "delivery": "доставка", "booking": "бронирование",
			"communication": "общение с нами", "noise": "шум"}, "и"},
	"hi": {"प्रिय %s,", "नमस्ते,", "हमें खेद है: %s। हम अपने मेहमानों के लिए ऐसा अनुभव नहीं चाहते।", "आपका अनुभव अच्छा नहीं रहा",
		"हम समझते हैं कि आप नाराज़ हैं, और हम जानना चाहते हैं कि क्या हुआ।", "%s स्वयं इस मामले को देखेंगे; कृपया यहाँ उत्तर दें या हमें लिखें ताकि हम इसे ठीक कर सकें।",
		"कृपया यहाँ उत्तर दें या हमें लिखें ताकि हम इसे ठीक कर सकें।", "हमें बताने के लिए धन्यवाद।",
		map[string]string{"staff": "कर्मचारियों का व्यवहार", "wait": "लंबा इंतज़ार", "billing": "बिल की समस्या", "quality": "गुणवत्ता",
			"cleanliness": "सफ़ाई", "safety": "सुरक्षा की चिंता", "delivery": "डिलीवरी", "booking": "बुकिंग की समस्या",
			"communication": "हमारा संवाद", "noise": "शोर"}, "और"},
	"tl": {"Mahal na %s,", "Magandang araw,", "Paumanhin po sa %s. Hindi po ito ang karanasang nais namin para sa aming mga bisita.", "hindi magandang karanasan",
		"Nauunawaan po namin na kayo ay nagagalit, at nais naming alamin kung ano ang nangyari.", "Si %s po ang personal na aasikaso nito; mangyaring sumagot dito o sumulat sa amin para maitama namin ito.",
		"Mangyaring sumagot dito o sumulat sa amin para maitama namin ito.", "Salamat po sa pagsabi sa amin.",
		map[string]string{"staff": "pakikitungo ng aming staff", "wait": "matagal na paghihintay", "billing": "problema sa bayarin", "quality": "kalidad",
			"cleanliness": "kalinisan", "safety": "usaping pangkaligtasan", "delivery": "delivery", "booking": "problema sa booking",
			"communication": "aming komunikasyon", "noise": "ingay"}, "at"},
	"hy": {"Հարգելի %s,", "Բարև ձեզ,", "Ցավում ենք՝ %s։ Մենք չենք ցանկանում, որ մեր հյուրերը նման փորձառություն ունենան։", "ինչ-որ բան այնպես չէր",
		"Հասկանում ենք, որ վրդովված եք, և ցանկանում ենք պարզել, թե ինչ է տեղի ունեցել։", "%s-ն անձամբ կզբաղվի այս հարցով․ խնդրում ենք պատասխանել այստեղ կամ գրել մեզ, որպեսզի շտկենք դա։",
		"Խնդրում ենք պատասխանել այստեղ կամ գրել մեզ, որպեսզի շտկենք դա։", "Շնորհակալություն, որ տեղեկացրիք մեզ։",
		map[string]string{"staff": "անձնակազմի վերաբերմունքը", "wait": "երկար սպասելը", "billing": "վճարման խնդիրը", "quality": "որակը",
			"cleanliness": "մաքրությունը", "safety": "անվտանգության հարցը", "delivery": "առաքումը", "booking": "ամրագրման խնդիրը",
			"communication": "մեր հաղորդակցությունը", "noise": "աղմուկը"}, "և"},
}

// languages that share a reply set.
var replyAlias = map[string]string{"bs": "hr", "sr": "hr", "fil": "tl"}

// SuggestReply drafts a personal public reply in the mention's language:
// greeting, an apology naming what failed, a named person to contact and a
// way to reach them. For an abusive post it stays calm and does not repeat
// anything from it. Staff edit it before sending; it is a start, not a bot.
func SuggestReply(m mention.Mention, contact string) string {
	lang := m.Lang
	if a, ok := replyAlias[lang]; ok {
		lang = a
	}
	r, ok := replies[lang]
	if !ok {
		r = replies["en"]
	}
	var parts []string
	name := oneLine(m.Author, 60)
	abusive := containsSignal(m, "abuse")
	if name == "" || abusive || strings.ContainsAny(name, "@<>:/") {
		// No name, or one that is a handle, a URL or part of the abuse: keep it neutral.
		parts = append(parts, r.greetNo)
	} else {
		parts = append(parts, fmt.Sprintf(r.greet, name))
	}
	if abusive {
		parts = append(parts, r.calm)
	} else {
		what := r.generic
		var named []string
		for _, a := range m.Aspects {
			if p, ok := r.aspects[a]; ok {
				named = append(named, p)
			}
		}
		if len(named) > 0 {
			what = joinList(named, r.and)
		}
		parts = append(parts, fmt.Sprintf(r.sorry, what))
	}
	if contact = oneLine(contact, 120); contact != "" {
		parts = append(parts, fmt.Sprintf(r.contact, contact))
	} else {
		parts = append(parts, r.noOne)
	}
	parts = append(parts, r.close)
	return strings.Join(parts, "\n\n")
}

func containsSignal(m mention.Mention, s string) bool {
	for _, x := range m.Signals {
		if x == s {
			return true
		}
	}
	return false
}

func joinList(items []string, and string) string {
	switch len(items) {
	case 1:
		return items[0]
	case 2:
		return items[0] + " " + and + " " + items[1]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + items[len(items)-1]
}
