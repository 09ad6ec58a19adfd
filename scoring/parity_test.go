package scoring

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/earshot/earshot/mention"
)

// parityLangs are the languages of TestSeverityParity's table: the six
// seed languages and German.
var parityLangs = []string{"en", "ru", "hi", "hr", "tl", "hy", "de"}

// parityComplaints are ten complaints, each written as a customer writing
// in that language would put it (not translated word for word), with the
// signal every version must raise ("" for none).
var parityComplaints = []struct {
	name, signal string
	text         [7]string // in parityLangs order
}{
	{"rude staff", "", [7]string{
		"The receptionist was rude to us and ignored our questions.",
		"Администратор грубо разговаривал с нами и игнорировал наши вопросы.",
		"रिसेप्शन पर कर्मचारी ने हमसे बदतमीज़ी से बात की और हमारे सवालों को अनदेखा किया।",
		"Recepcionar je bio bezobrazan prema nama i ignorirao je naša pitanja.",
		"Ang bastos ng receptionist sa amin at hindi pinansin ang mga tanong namin.",
		"Ադմինիստրատորը կոպիտ էր մեզ հետ և անտեսեց մեր հարցերը։",
		"Die Rezeptionistin war unhöflich zu uns und hat unsere Fragen ignoriert.",
	}},
	{"long wait", "", [7]string{
		"We waited two hours for our food, it was a total disaster.",
		"Мы ждали еду два часа, это был полный кошмар.",
		"हमने खाने के लिए दो घंटे इंतजार किया, बहुत बुरा अनुभव था।",
		"Čekali smo hranu dva sata, bila je to prava katastrofa.",
		"Dalawang oras kaming naghintay sa pagkain, sobrang pangit ng serbisyo.",
		"Երկու ժամ սպասեցինք ուտելիքին, սարսափելի էր։",
		"Wir haben zwei Stunden auf das Essen gewartet, eine echte Katastrophe.",
	}},
	{"charged twice", "", [7]string{
		"They charged my card twice and refuse to give the money back.",
		"С карты списали деньги дважды и отказываются их вернуть.",
		"मेरे कार्ड से दो बार पैसे काट लिए और अब पैसे वापस करने से मना कर रहे हैं।",
		"Naplatili su mi karticu dvaput i odbijaju vratiti novac.",
		"Dalawang beses nilang siningil ang card ko at ayaw nilang ibalik ang pera.",
		"Քարտիցս երկու անգամ գումար գանձեցին և հրաժարվում են վերադարձնել։",
		"Sie haben meine Karte zweimal belastet und weigern sich, das Geld zurückzuzahlen.",
	}},
	{"bed bugs", "health", [7]string{
		"There were bed bugs in the bed, I woke up covered in bites.",
		"В кровати были клопы, я проснулся весь в укусах.",
		"बिस्तर में खटमल थे, सुबह पूरे शरीर पर काटने के निशान थे।",
		"U krevetu su bile stjenice, probudio sam se sav izgrizen.",
		"May surot sa kama, gumising ako na puro kagat.",
		"Մահճակալում փայտոջիլներ կային, արթնացա ամբողջովին խայթված։",
		"Im Bett waren Bettwanzen, ich bin voller Bisse aufgewacht.",
	}},
	{"food poisoning", "health", [7]string{
		"My whole family got food poisoning after dinner here.",
		"После ужина здесь вся семья отравилась.",
		"यहाँ खाना खाने के बाद पूरे परिवार को फूड पॉइजनिंग हो गई।",
		"Cijela obitelj je dobila trovanje hranom nakon večere ovdje.",
		"Nalason ang buong pamilya ko pagkatapos kumain dito.",
		"Այստեղ ընթրելուց հետո ամբողջ ընտանիքով թունավորվեցինք։",
		"Nach dem Abendessen hier hatte die ganze Familie eine Lebensmittelvergiftung.",
	}},
	{"never again", "churn", [7]string{
		"Terrible service, we will never come back.",
		"Ужасное обслуживание, больше никогда не придём.",
		"बहुत खराब सेवा, हम फिर कभी नहीं आएंगे।",
		"Užasna usluga, nikad više nećemo doći.",
		"Ang pangit ng serbisyo, hindi na kami babalik.",
		"Սարսափելի սպասարկում էր, էլ չենք գա։",
		"Schrecklicher Service, wir kommen nie wieder.",
	}},
	{"regulator", "regulator", [7]string{
		"The bank ignored my complaint, so I took it to the financial ombudsman.",
		"Банк проигнорировал мою жалобу, поэтому я обратился к финансовому уполномоченному.",
		"बैंक ने मेरी शिकायत पर ध्यान नहीं दिया, इसलिए मैंने बैंकिंग लोकपाल में शिकायत दर्ज की।",
		"Banka je ignorirala moju reklamaciju pa sam podnio pritužbu Hrvatskoj narodnoj banci.",
		"Hindi pinansin ng bangko ang reklamo ko kaya nagreklamo na ako sa BSP.",
		"Բանկը անտեսեց իմ բողոքը, ուստի դիմեցի Ֆինանսական համակարգի հաշտարարին։",
		"Die Bank hat meine Beschwerde ignoriert, deshalb habe ich mich an den Ombudsmann der Banken gewandt.",
	}},
	{"going public", "media", [7]string{
		"The manager was rude and laughed at us. I'm posting the video on TikTok.",
		"Менеджер нахамил и посмеялся над нами. Выложу видео в ТикТок.",
		"मैनेजर ने बदतमीज़ी की और हम पर हँसा। मैं इसका वीडियो यूट्यूब पर डालूँगा।",
		"Voditelj je bio bezobrazan i smijao nam se u lice. Objavit ću snimku na TikToku.",
		"Bastos ang manager at pinagtawanan pa kami. Ipopost ko ang video sa TikTok.",
		"Մենեջերը կոպիտ էր և ծիծաղում էր մեզ վրա։ Տեսանյութը կտեղադրեմ TikTok-ում։",
		"Der Manager war unverschämt und hat uns ausgelacht. Ich stelle das Video auf TikTok.",
	}},
	{"lawyer", "legal", [7]string{
		"The airline lost my luggage and won't pay, my lawyer is handling it now.",
		"Авиакомпания потеряла мой багаж и отказывается платить, теперь этим занимается мой адвокат.",
		"एयरलाइन ने मेरा सामान खो दिया और मुआवजा नहीं दे रही, अब मेरा वकील यह मामला देखेगा।",
		"Zrakoplovna kompanija mi je izgubila prtljagu i ne želi platiti, sad to rješava moj odvjetnik.",
		"Nawala ng airline ang bagahe ko at ayaw magbayad, abogado ko na ang bahala dito.",
		"Ավիաընկերությունը կորցրեց ուղեբեռս և հրաժարվում է վճարել, հիմա փաստաբանս է զբաղվում դրանով։",
		"Die Airline hat mein Gepäck verloren und will nicht zahlen, jetzt kümmert sich mein Anwalt darum.",
	}},
	{"broken phone", "", [7]string{
		"The phone stopped working after two days and support never answers.",
		"Телефон перестал работать через два дня, а поддержка не отвечает.",
		"फोन दो दिन में ही खराब हो गया और कस्टमर केयर जवाब नहीं देता।",
		"Mobitel je prestao raditi nakon dva dana, a podrška se ne javlja.",
		"Dalawang araw pa lang, sira na ang phone at hindi sumasagot ang support.",
		"Հեռախոսը երկու օր հետո դադարեց աշխատել, իսկ աջակցման ծառայությունը չի պատասխանում։",
		"Das Handy hat nach zwei Tagen den Geist aufgegeben und der Support antwortet nie.",
	}},
}

// TestSeverityParity: the same complaint in seven languages is flagged in
// every one, raises the same signal, and gets the same severity within one
// step. Languages are detected, as for a mention that carries none.
func TestSeverityParity(t *testing.T) {
	s := testScorer(t)
	for _, c := range parityComplaints {
		t.Run(c.name, func(t *testing.T) {
			lo, hi := 99, -1
			var got []string
			for i, text := range c.text {
				m := mention.Mention{Text: text}
				s.ScoreMention(&m)
				r := mention.SeverityRank(m.Severity)
				lo, hi = min(lo, r), max(hi, r)
				got = append(got, fmt.Sprintf("%s:%s", parityLangs[i], m.Severity))
				if lexLang(m.Lang) != parityLangs[i] || !m.Negative || (c.signal != "" && !slices.Contains(m.Signals, c.signal)) {
					t.Errorf("%s: lang %s negative %v signals %v, want %s, negative, %q\n%s", parityLangs[i], m.Lang, m.Negative, m.Signals, parityLangs[i], c.signal, strings.Join(m.Reasons, "\n"))
				}
			}
			if hi-lo > 1 {
				t.Errorf("severities differ by more than one step: %s", strings.Join(got, " "))
			}
		})
	}
}
