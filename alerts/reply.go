package alerts

import (
	"fmt"
	"slices"
	"strings"

	"github.com/earshot/earshot/mention"
)

// replyLang holds one language's building blocks for a suggested reply.
// Each sentence is whole in its language: an aspect phrase is stored in the
// grammatical case its frame needs (Russian accusative after "за",
// Croatian genitive after "zbog", Armenian genitive before "համար", Hindi
// oblique before "के लिए"), and a contact is placed where a name in the
// nominative reads naturally, so no ending has to be put on it.
type replyLang struct {
	greet        string // %s: the author's name
	greetNo      string // no name known
	sorry        string // %s: the aspects, joined with and
	sorryGeneric string // no aspect known
	calm         string // for abusive posts: acknowledge feelings, no mirroring
	contact      string // %s: who will look into it
	noOne        string // no named contact configured
	close        string
	// serious, seriousContact and seriousNoOne replace the apology for
	// legal, health and safety complaints: thanks, taken seriously, take it
	// private; no admission of fault.
	serious        string
	seriousContact string // %s: who handles it
	seriousNoOne   string
	aspects        map[string]string
	and            string
}

// replies are written to be sent after a person reads and personalises
// them: short, specific, apologetic, with a way to reach a human. Each set
// was read back sentence by sentence for grammar in its language.
var replies = map[string]replyLang{
	"en": {
		greet: "Dear %s,", greetNo: "Hello,",
		sorry:          "We are sorry about %s. This is not the experience we want anyone to have with us.",
		sorryGeneric:   "We are sorry that your experience with us was not what it should have been.",
		calm:           "We understand that you are upset, and we want to find out what happened.",
		contact:        "%s will look into this personally. Please reply here or write to us so that we can put it right.",
		noOne:          "Please reply here or write to us so that we can put it right.",
		close:          "Thank you for telling us.",
		serious:        "Thank you for letting us know. We take what you describe very seriously and want to look into it properly.",
		seriousContact: "Please contact us directly; %s will handle this personally.",
		seriousNoOne:   "Please contact us directly so that we can discuss this with you in private.",
		aspects: map[string]string{"staff": "how our staff treated you", "wait": "the long wait", "billing": "the problem with your bill",
			"quality": "the quality falling short", "cleanliness": "the cleanliness problems", "safety": "the safety concern you raised",
			"delivery": "the problem with your delivery", "booking": "the problem with your booking", "communication": "how we communicated with you",
			"noise": "the noise", "luggage": "the problem with your luggage"},
		and: "and"},
	"hr": {
		greet: "Poštovani/a %s,", greetNo: "Poštovani,",
		sorry:          "Ispričavamo se zbog %s. Žao nam je što niste bili zadovoljni.",
		sorryGeneric:   "Žao nam je što niste bili zadovoljni.",
		calm:           "Razumijemo da ste uzrujani i želimo provjeriti što se dogodilo.",
		contact:        "Ovim će se osobno pozabaviti %s. Molimo Vas da odgovorite ovdje ili nam pišete kako bismo to ispravili.",
		noOne:          "Molimo Vas da odgovorite ovdje ili nam pišete kako bismo to ispravili.",
		close:          "Hvala Vam što ste nam javili.",
		serious:        "Hvala Vam što ste nas obavijestili. Ono što opisujete shvaćamo vrlo ozbiljno i želimo to temeljito provjeriti.",
		seriousContact: "Molimo Vas da nam se izravno javite; Vašim upitom osobno će se baviti %s.",
		seriousNoOne:   "Molimo Vas da nam se izravno javite kako bismo o tome razgovarali s Vama osobno.",
		aspects: map[string]string{"staff": "odnosa osoblja", "wait": "dugog čekanja", "billing": "problema s naplatom",
			"quality": "kvalitete koja nije ispunila Vaša očekivanja", "cleanliness": "nedovoljne čistoće", "safety": "problema sa sigurnošću",
			"delivery": "problema s dostavom", "booking": "problema s rezervacijom", "communication": "načina na koji smo komunicirali s Vama",
			"noise": "buke", "luggage": "problema s prtljagom"},
		and: "i"},
	"ru": {
		greet: "Здравствуйте, %s!", greetNo: "Здравствуйте!",
		sorry:          "Приносим извинения за %s. Нам очень жаль, что вы остались недовольны.",
		sorryGeneric:   "Нам очень жаль, что вы остались недовольны.",
		calm:           "Мы понимаем, что вы расстроены, и хотим разобраться в том, что произошло.",
		contact:        "Этим вопросом лично займётся %s. Пожалуйста, ответьте здесь или напишите нам, чтобы мы могли всё исправить.",
		noOne:          "Пожалуйста, ответьте здесь или напишите нам, чтобы мы могли всё исправить.",
		close:          "Спасибо, что рассказали нам об этом.",
		serious:        "Спасибо, что сообщили нам об этом. Мы со всей серьёзностью относимся к тому, что вы описали, и хотим тщательно во всём разобраться.",
		seriousContact: "Пожалуйста, свяжитесь с нами напрямую: вашим обращением лично займётся %s.",
		seriousNoOne:   "Пожалуйста, свяжитесь с нами напрямую, чтобы мы могли обсудить это с вами лично.",
		aspects: map[string]string{"staff": "отношение персонала", "wait": "долгое ожидание", "billing": "проблему с оплатой",
			"quality": "качество, которое не оправдало ваших ожиданий", "cleanliness": "недостаточную чистоту", "safety": "проблему с безопасностью",
			"delivery": "проблему с доставкой", "booking": "проблему с бронированием", "communication": "то, как мы с вами общались",
			"noise": "шум", "luggage": "проблему с багажом"},
		and: "и"},
	"hi": {
		greet: "प्रिय %s,", greetNo: "नमस्ते,",
		sorry:          "%s के लिए हमें खेद है। हम नहीं चाहते कि किसी को भी हमारे यहाँ ऐसा अनुभव हो।",
		sorryGeneric:   "हमें खेद है कि आपका अनुभव अच्छा नहीं रहा।",
		calm:           "हम समझते हैं कि आप नाराज़ हैं, और हम जानना चाहते हैं कि क्या हुआ।",
		contact:        "%s स्वयं इस मामले को देखेंगे। कृपया यहाँ उत्तर दें या हमें लिखें, ताकि हम इसे ठीक कर सकें।",
		noOne:          "कृपया यहाँ उत्तर दें या हमें लिखें, ताकि हम इसे ठीक कर सकें।",
		close:          "हमें बताने के लिए धन्यवाद।",
		serious:        "हमें इस बारे में बताने के लिए धन्यवाद। आपने जो बताया है, हम उसे बहुत गंभीरता से ले रहे हैं और इसकी पूरी जाँच करना चाहते हैं।",
		seriousContact: "कृपया हमसे सीधे संपर्क करें; इस मामले को %s स्वयं देखेंगे।",
		seriousNoOne:   "कृपया हमसे सीधे संपर्क करें, ताकि हम इस बारे में आपसे निजी तौर पर बात कर सकें।",
		aspects: map[string]string{"staff": "हमारे कर्मचारियों के व्यवहार", "wait": "लंबे इंतज़ार", "billing": "बिल से जुड़ी समस्या",
			"quality": "गुणवत्ता में कमी", "cleanliness": "साफ़-सफ़ाई में कमी", "safety": "सुरक्षा से जुड़ी चिंता",
			"delivery": "डिलीवरी में हुई परेशानी", "booking": "बुकिंग से जुड़ी समस्या", "communication": "हमारे संवाद में कमी",
			"noise": "शोर", "luggage": "सामान से जुड़ी समस्या"},
		and: "और"},
	"tl": {
		greet: "Magandang araw po, %s!", greetNo: "Magandang araw po!",
		sorry:          "Humihingi po kami ng paumanhin sa %s. Hindi po ito ang karanasang nais namin para sa inyo.",
		sorryGeneric:   "Humihingi po kami ng paumanhin dahil hindi naging maganda ang inyong karanasan.",
		calm:           "Nauunawaan po namin ang inyong pagkadismaya, at nais po naming alamin kung ano ang nangyari.",
		contact:        "Personal po itong aasikasuhin ni %s. Mangyaring sumagot po rito o sumulat sa amin para maitama namin ito.",
		noOne:          "Mangyaring sumagot po rito o sumulat sa amin para maitama namin ito.",
		close:          "Salamat po sa pagsabi sa amin.",
		serious:        "Salamat po sa pagpapaalam nito sa amin. Sineseryoso po namin ang inyong inilahad at nais po naming masusing alamin ito.",
		seriousContact: "Mangyaring direktang makipag-ugnayan po sa amin; personal po itong hahawakan ni %s.",
		seriousNoOne:   "Mangyaring direktang makipag-ugnayan po sa amin para mapag-usapan natin ito nang pribado.",
		aspects: map[string]string{"staff": "naging pakikitungo ng aming staff", "wait": "matagal na paghihintay", "billing": "problema sa inyong bayarin",
			"quality": "kalidad na hindi umabot sa inyong inaasahan", "cleanliness": "kakulangan sa kalinisan", "safety": "inyong alalahanin tungkol sa kaligtasan",
			"delivery": "problema sa delivery", "booking": "problema sa inyong booking", "communication": "naging komunikasyon namin sa inyo",
			"noise": "ingay", "luggage": "problema sa inyong bagahe"},
		and: "at"},
	"hy": {
		greet: "Հարգելի %s,", greetNo: "Բարև ձեզ,",
		sorry:          "Ներողություն ենք խնդրում %s համար։ Մենք չենք ցանկանում, որ որևէ մեկը մեզ մոտ նման փորձառություն ունենա։",
		sorryGeneric:   "Ցավում ենք, որ գոհ չմնացիք։",
		calm:           "Հասկանում ենք, որ վրդովված եք, և ցանկանում ենք պարզել, թե ինչ է տեղի ունեցել։",
		contact:        "Այս հարցով անձամբ կզբաղվի մեր ներկայացուցիչը՝ %s։ Խնդրում ենք պատասխանել այստեղ կամ գրել մեզ, որպեսզի կարողանանք ամեն ինչ շտկել։",
		noOne:          "Խնդրում ենք պատասխանել այստեղ կամ գրել մեզ, որպեսզի կարողանանք ամեն ինչ շտկել։",
		close:          "Շնորհակալություն, որ տեղեկացրիք մեզ։",
		serious:        "Շնորհակալություն, որ տեղեկացրիք մեզ։ Մենք շատ լուրջ ենք վերաբերվում ձեր նկարագրածին և ցանկանում ենք մանրամասն պարզել այն։",
		seriousContact: "Խնդրում ենք անմիջապես կապվել մեզ հետ․ այս հարցով անձամբ կզբաղվի մեր ներկայացուցիչը՝ %s։",
		seriousNoOne:   "Խնդրում ենք անմիջապես կապվել մեզ հետ, որպեսզի կարողանանք այս հարցը քննարկել ձեզ հետ անձամբ։",
		aspects: map[string]string{"staff": "անձնակազմի վերաբերմունքի", "wait": "երկար սպասելու", "billing": "վճարման հետ կապված խնդրի",
			"quality": "ոչ բավարար որակի", "cleanliness": "ոչ բավարար մաքրության", "safety": "անվտանգության հետ կապված խնդրի",
			"delivery": "առաքման հետ կապված խնդրի", "booking": "ամրագրման հետ կապված խնդրի", "communication": "մեր հաղորդակցության թերությունների",
			"noise": "աղմուկի", "luggage": "ուղեբեռի հետ կապված խնդրի"},
		and: "և"},
}

// languages that share a reply set.
var replyAlias = map[string]string{"bs": "hr", "sr": "hr", "fil": "tl"}

// seriousSignals are the scorer's signals of a complaint with legal,
// health or safety stakes (a lawyer, food poisoning, an injury, a report
// to a regulator): an apology there can read as an admission.
var seriousSignals = []string{"legal", "health", "safety", "regulator"}

// ReplyContact is who a suggested reply names: Default as configured
// (`contact: "Ana Horvat, front office manager"`), and optionally the
// same written in other languages (`contacts: {ru: "Анна Хорват,
// администратор"}`).
type ReplyContact struct {
	Default string
	ByLang  map[string]string
}

// in returns the contact for a reply in lang: the localized one if
// configured; otherwise the default in English replies, and elsewhere only
// its name (the part before the first comma), so that an English job title
// is not pasted into a Russian sentence.
func (c ReplyContact) in(lang string) string {
	if s := strings.TrimSpace(c.ByLang[lang]); s != "" {
		return s
	}
	s := strings.TrimSpace(c.Default)
	if lang != "en" {
		if name, _, ok := strings.Cut(s, ","); ok {
			s = strings.TrimSpace(name)
		}
	}
	return s
}

// ReplyLang is the language a suggested reply for m is written in.
func ReplyLang(m mention.Mention) string {
	lang := m.Lang
	if a, ok := replyAlias[lang]; ok {
		lang = a
	}
	if _, ok := replies[lang]; !ok {
		return "en"
	}
	return lang
}

// SuggestReply drafts a personal public reply in the mention's language:
// greeting, an apology naming what failed, a named person to contact and a
// way to reach them. For an abusive post it stays calm and does not repeat
// anything from it; for a legal, health or safety complaint it thanks,
// takes it seriously and moves it to a private channel without admitting
// fault (see ReplyAdvice for the note to staff). Staff edit it before
// sending; it is a start, not a bot. contact is the location's `contact`.
func SuggestReply(m mention.Mention, contact string) string {
	return SuggestReplyTo(m, ReplyContact{Default: contact})
}

// SuggestReplyTo is SuggestReply with the location's contact in several
// languages.
func SuggestReplyTo(m mention.Mention, rc ReplyContact) string {
	lang := ReplyLang(m)
	r := replies[lang]
	var parts []string
	name := oneLine(m.Author, 60)
	abusive := containsSignal(m, "abuse")
	if name == "" || abusive || strings.ContainsAny(name, "@<>:/") {
		// No name, or one that is a handle, a URL or part of the abuse: keep it neutral.
		parts = append(parts, r.greetNo)
	} else {
		parts = append(parts, fmt.Sprintf(r.greet, name))
	}
	contact := oneLine(rc.in(lang), 120)
	if Serious(m) {
		parts = append(parts, r.serious)
		if contact != "" {
			parts = append(parts, fmt.Sprintf(r.seriousContact, contact))
		} else {
			parts = append(parts, r.seriousNoOne)
		}
		return strings.Join(parts, "\n\n")
	}
	switch {
	case abusive:
		parts = append(parts, r.calm)
	default:
		var named []string
		for _, a := range m.Aspects {
			if p, ok := r.aspects[a]; ok && !slices.Contains(named, p) {
				named = append(named, p)
			}
		}
		if len(named) > 0 {
			parts = append(parts, fmt.Sprintf(r.sorry, joinList(named, r.and)))
		} else {
			parts = append(parts, r.sorryGeneric)
		}
	}
	if contact != "" {
		parts = append(parts, fmt.Sprintf(r.contact, contact))
	} else {
		parts = append(parts, r.noOne)
	}
	parts = append(parts, r.close)
	return strings.Join(parts, "\n\n")
}

// Serious reports whether a mention carries a legal, health or safety
// signal: staff escalate it and do not admit liability in public.
func Serious(m mention.Mention) bool {
	for _, s := range seriousSignals {
		if containsSignal(m, s) {
			return true
		}
	}
	return false
}

// ReplyAdvice is the note for staff (English, not for posting) that goes
// with the suggested reply of a serious complaint; "" for the others.
func ReplyAdvice(m mention.Mention) string {
	if !Serious(m) {
		return ""
	}
	var sigs []string
	for _, s := range seriousSignals {
		if containsSignal(m, s) {
			sigs = append(sigs, s)
		}
	}
	return "This complaint has " + joinList(sigs, "and") + " stakes. Escalate it to the manager responsible (and to legal or the insurer, " +
		"as your policy says) before anyone replies. Do not admit fault or liability, offer compensation or discuss details in public: " +
		"the suggested reply only acknowledges the complaint and asks to continue in private."
}

func containsSignal(m mention.Mention, s string) bool {
	return slices.Contains(m.Signals, s)
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
