package benchdata

// The texts below were written for this generator: sentence templates per
// language, combined at random. Placeholders: {name} an English first name,
// {place} an English place name, {loc} the mention's location, {brand} its
// brand, {n} a small number, {amount} a sum of money. They must never be
// copied from the evaluation sets under /work/shared/data (licensed for
// evaluation only).

// lexicon is one language's sentence pools.
type lexicon struct {
	open    []string
	neg     map[string][]string // by aspect
	legal   []string
	health  []string
	pos     []string
	neutral []string
	endNeg  []string
	endPos  []string
	titNeg  []string
	titPos  []string
}

// aspects that negative texts complain about, in a fixed order so that the
// generator's draws are deterministic.
var aspects = []string{"staff", "wait", "billing", "cleanliness", "safety"}

var lexicons = map[string]*lexicon{
	"en": {
		open: []string{
			"We stayed {n} nights at the {brand} in {loc} last month.",
			"Second visit to this {brand} location in {loc}.",
			"Booked through the app for a business trip near {place}.",
			"Came here with my family after a long flight.",
			"I have been a loyal customer of {brand} for years.",
			"Quick note after checking out this morning.",
		},
		neg: map[string][]string{
			"staff": {
				"The receptionist, {name}, was rude and rolled her eyes when we asked for help.",
				"Staff were unfriendly and completely ignored us at the front desk.",
				"The manager {name} refused to listen and was dismissive about our complaint.",
				"Nobody at reception could answer a simple question about parking.",
			},
			"wait": {
				"We waited {n} minutes to check in while the queue did not move at all.",
				"Room service took over an hour and the food arrived cold.",
				"The shuttle from {place} never showed up and we waited forever.",
				"Check-in was painfully slow, {n} people ahead of us and only one clerk.",
			},
			"billing": {
				"They overcharged my card by {amount} and the refund still has not arrived.",
				"Hidden fees everywhere: a resort fee nobody mentioned at booking.",
				"I was charged twice for the same night and billing keeps ignoring my emails.",
				"The invoice listed minibar items we never touched, {amount} extra.",
			},
			"cleanliness": {
				"The room was dirty, hair in the shower and stains on the sheets.",
				"Bathroom smelled of mould and the towels were grey.",
				"We found cockroaches under the bed on the second night.",
				"Carpet was filthy and the bins had not been emptied.",
			},
			"safety": {
				"The door lock was broken and nobody came to fix it for two days.",
				"Someone tried to get into our room at night and security never answered.",
				"The fire exit on floor {n} was blocked with old furniture.",
			},
		},
		legal: []string{
			"I am contacting my lawyer and will take this to court if it is not resolved.",
			"This is fraud, and I have filed a complaint with consumer protection.",
		},
		health: []string{
			"My son got food poisoning from the breakfast buffet and we ended up at the hospital.",
			"I woke up covered in bed bug bites and had to see a doctor.",
		},
		pos: []string{
			"{name} at the front desk was wonderful and upgraded our room.",
			"Spotless room, comfortable bed and a great view over {place}.",
			"Breakfast was excellent and the coffee was actually good.",
			"Friendly staff, fast check-in, everything as promised.",
			"Great location, a short walk from {place}.",
			"The concierge {name} booked us a lovely dinner, thank you!",
		},
		neutral: []string{
			"The room was on floor {n}, facing the street.",
			"Parking costs extra and is a few minutes away.",
			"We paid {amount} for the stay, about average for {loc}.",
			"Wifi worked most of the time.",
			"The lobby was busy on the weekend.",
			"Breakfast runs until ten.",
		},
		endNeg: []string{
			"Never again. Avoid this place.",
			"Very disappointed, I want a refund.",
			"Terrible experience, would give zero stars if I could.",
			"Management, please do something about this.",
		},
		endPos: []string{
			"Highly recommended, we will be back!",
			"Thanks to the whole team.",
			"Would stay here again.",
			"Five stars from us.",
		},
		titNeg: []string{"Worst stay ever", "Avoid", "Rude staff, dirty room", "Overcharged", "Disappointing"},
		titPos: []string{"Lovely stay", "Great value", "Friendly team", "Would come back", "Solid choice"},
	},
	"ru": {
		open: []string{
			"Жили в {brand} в городе {loc} {n} ночи.",
			"Останавливались здесь во время командировки.",
			"Приехали всей семьёй после долгого перелёта.",
			"Пишу отзыв сразу после выезда.",
		},
		neg: map[string][]string{
			"staff": {
				"Администратор была грубой и разговаривала с нами свысока.",
				"Персонал нас просто игнорировал, никто не помог с багажом.",
				"Менеджер отказался даже выслушать жалобу.",
			},
			"wait": {
				"Заселения ждали {n} минут, очередь не двигалась.",
				"Трансфер так и не приехал, ждали больше часа.",
				"Еду в номер несли полтора часа, всё остыло.",
			},
			"billing": {
				"С карты списали лишние {amount}, деньги до сих пор не вернули.",
				"Выставили счёт за мини-бар, которым мы не пользовались.",
				"Списали оплату дважды, бухгалтерия не отвечает.",
			},
			"cleanliness": {
				"В номере грязно, на простынях пятна, в душе волосы.",
				"В ванной пахло плесенью, полотенца серые.",
				"Ночью по полу бегали тараканы.",
			},
			"safety": {
				"Замок на двери сломан, два дня никто не приходил чинить.",
				"Ночью кто-то ломился в номер, охрана не отвечала.",
			},
		},
		legal:  []string{"Обращусь в суд и в общество защиты прав потребителей.", "Это мошенничество, заявление уже подано."},
		health: []string{"Ребёнок отравился на завтраке, пришлось ехать в больницу.", "Проснулся весь в укусах клопов, ходил к врачу."},
		pos: []string{
			"Очень приветливый персонал, заселили быстро.",
			"Номер чистый, кровать удобная, вид отличный.",
			"Завтрак вкусный и разнообразный.",
			"Отличное расположение, до центра пешком десять минут.",
		},
		neutral: []string{
			"Номер на {n} этаже, окна во двор.",
			"Парковка платная.",
			"Заплатили {amount}, для города {loc} это средняя цена.",
			"Вай-фай работал с перебоями.",
		},
		endNeg: []string{"Больше никогда. Не рекомендую.", "Очень разочарованы, требую возврат денег.", "Ужасный сервис."},
		endPos: []string{"Рекомендую, приедем ещё!", "Спасибо всей команде.", "Всё понравилось."},
		titNeg: []string{"Ужасно", "Не советую", "Обман", "Грязно и грубо"},
		titPos: []string{"Отлично", "Всё понравилось", "Рекомендую"},
	},
	"hi": {
		open: []string{
			"हम {loc} के {brand} में {n} रात रुके।",
			"ऑफिस के काम से यहाँ ठहरा था।",
			"परिवार के साथ छुट्टी पर आए थे।",
		},
		neg: map[string][]string{
			"staff": {
				"रिसेप्शन पर स्टाफ बहुत बदतमीज़ था और किसी ने मदद नहीं की।",
				"मैनेजर ने हमारी शिकायत सुनने से भी मना कर दिया।",
			},
			"wait": {
				"चेक-इन के लिए {n} मिनट इंतज़ार करना पड़ा।",
				"रूम सर्विस एक घंटे बाद आई और खाना ठंडा था।",
			},
			"billing": {
				"मेरे कार्ड से {amount} ज़्यादा काट लिए और अब तक रिफंड नहीं मिला।",
				"बिल में ऐसे चार्ज जोड़ दिए जो बुकिंग के समय नहीं बताए थे।",
			},
			"cleanliness": {
				"कमरा गंदा था, चादरों पर दाग और बाथरूम में बदबू।",
				"बिस्तर के नीचे कॉकरोच मिले।",
			},
			"safety": {
				"दरवाज़े का ताला टूटा हुआ था और रात को कोई सुरक्षा नहीं थी।",
			},
		},
		legal:  []string{"मैं उपभोक्ता अदालत में शिकायत दर्ज करूँगा।", "यह धोखाधड़ी है, वकील से बात कर ली है।"},
		health: []string{"नाश्ते के बाद मेरे बेटे को फूड पॉइज़निंग हो गई और अस्पताल जाना पड़ा।"},
		pos: []string{
			"स्टाफ बहुत अच्छा और मददगार था।",
			"कमरा साफ़ और आरामदायक था, नाश्ता भी बढ़िया।",
			"लोकेशन शानदार है, सब कुछ पास में है।",
		},
		neutral: []string{
			"कमरा {n} मंज़िल पर था।",
			"पार्किंग के लिए अलग से पैसे लगते हैं।",
			"कुल {amount} खर्च हुए।",
		},
		endNeg: []string{"कभी दोबारा नहीं आएँगे।", "बहुत निराशा हुई, पैसे वापस चाहिए।"},
		endPos: []string{"ज़रूर फिर आएँगे!", "पूरी टीम को धन्यवाद।"},
		titNeg: []string{"बहुत बुरा अनुभव", "पैसे की बर्बादी"},
		titPos: []string{"शानदार", "बहुत अच्छा"},
	},
	"hr": {
		open: []string{
			"Bili smo u {brand} u {loc} {n} noći.",
			"Poslovni put, odsjela sam ovdje dva puta.",
			"Došli smo s djecom nakon dugog puta.",
		},
		neg: map[string][]string{
			"staff": {
				"Recepcionarka je bila bezobrazna i nije nam htjela pomoći.",
				"Osoblje nas je potpuno ignoriralo na recepciji.",
			},
			"wait": {
				"Čekali smo {n} minuta na prijavu, red se nije micao.",
				"Prijevoz s aerodroma nije došao, čekali smo više od sat vremena.",
			},
			"billing": {
				"Naplatili su nam {amount} više i povrat novca još nije stigao.",
				"Dvaput su mi naplatili istu noć.",
			},
			"cleanliness": {
				"Soba je bila prljava, plijesan u kupaonici i mrlje na plahtama.",
				"Pod krevetom smo našli žohare.",
			},
			"safety": {
				"Brava na vratima bila je pokvarena, nitko je nije popravio.",
			},
		},
		legal:  []string{"Obratit ću se odvjetniku i tužiti vas.", "Prijavio sam vas udruzi za zaštitu potrošača."},
		health: []string{"Nakon doručka dijete je dobilo trovanje hranom, završili smo u bolnici."},
		pos: []string{
			"Osoblje je bilo ljubazno, a soba čista i udobna.",
			"Odličan doručak i sjajan pogled na grad.",
			"Lokacija je savršena, sve je blizu.",
		},
		neutral: []string{
			"Soba je bila na {n}. katu.",
			"Parking se plaća posebno.",
			"Platili smo {amount} za boravak.",
		},
		endNeg: []string{"Nikad više. Ne preporučujem.", "Jako razočarani, tražimo povrat novca."},
		endPos: []string{"Preporučujem, vratit ćemo se!", "Hvala cijelom timu."},
		titNeg: []string{"Užasno", "Ne preporučujem", "Prevara"},
		titPos: []string{"Odlično", "Preporuka"},
	},
	"tl": {
		open: []string{
			"Nag-stay kami sa {brand} sa {loc} ng {n} gabi.",
			"Dito kami tumuloy para sa business trip.",
			"Kasama ko ang pamilya ko sa bakasyon.",
		},
		neg: map[string][]string{
			"staff": {
				"Napakasungit ng staff sa front desk at walang tumulong sa amin.",
				"Hindi kami pinansin ng manager kahit nagrereklamo na kami.",
			},
			"wait": {
				"Naghintay kami ng {n} minuto bago maka-check in.",
				"Isang oras bago dumating ang room service at malamig na ang pagkain.",
			},
			"billing": {
				"Sobra ang siningil sa card ko, {amount}, at wala pa ring refund.",
				"Dalawang beses akong siningil para sa parehong gabi.",
			},
			"cleanliness": {
				"Madumi ang kwarto, may mantsa ang kumot at mabaho ang banyo.",
				"May ipis sa ilalim ng kama.",
			},
			"safety": {
				"Sira ang lock ng pinto at walang guwardiya sa gabi.",
			},
		},
		legal:  []string{"Magdedemanda ako at magrereklamo sa DTI.", "Kinausap ko na ang abogado ko."},
		health: []string{"Nalason sa pagkain ang anak ko sa almusal at dinala namin sa ospital."},
		pos: []string{
			"Mababait ang staff at malinis ang kwarto.",
			"Masarap ang almusal at maganda ang view.",
			"Maganda ang lokasyon, malapit sa lahat.",
		},
		neutral: []string{
			"Nasa ika-{n} palapag ang kwarto namin.",
			"May bayad ang parking.",
			"Nagbayad kami ng {amount}.",
		},
		endNeg: []string{"Hindi na kami babalik.", "Sobrang nakakadismaya, gusto ko ng refund."},
		endPos: []string{"Babalik kami ulit!", "Salamat sa buong team."},
		titNeg: []string{"Nakakadismaya", "Huwag dito"},
		titPos: []string{"Sulit", "Maganda"},
	},
	"hy": {
		open: []string{
			"Մենք {n} գիշեր մնացինք {brand}-ում, {loc}։",
			"Գործուղման ժամանակ այստեղ եմ իջևանել։",
			"Ընտանիքով եկանք երկար թռիչքից հետո։",
		},
		neg: map[string][]string{
			"staff": {
				"Ընդունարանի աշխատակիցը կոպիտ էր և չօգնեց մեզ։",
				"Մենեջերը հրաժարվեց լսել մեր բողոքը։",
			},
			"wait": {
				"Գրանցման համար սպասեցինք {n} րոպե։",
				"Սենյակի սպասարկումը եկավ մեկ ժամ անց, ուտելիքը սառն էր։",
			},
			"billing": {
				"Քարտիցս ավել գանձեցին {amount}, գումարը դեռ չեն վերադարձրել։",
				"Նույն գիշերվա համար երկու անգամ գանձեցին։",
			},
			"cleanliness": {
				"Սենյակը կեղտոտ էր, սավանները՝ բծերով։",
				"Մահճակալի տակ ուտիճներ կային։",
			},
			"safety": {
				"Դռան կողպեքը կոտրված էր, և գիշերը պահակ չկար։",
			},
		},
		legal:  []string{"Դիմելու եմ դատարան։", "Սա խարդախություն է, արդեն դիմել եմ փաստաբանին։"},
		health: []string{"Նախաճաշից հետո երեխաս թունավորվեց, և հիվանդանոց գնացինք։"},
		pos: []string{
			"Անձնակազմը շատ բարեհամբույր էր, սենյակը՝ մաքուր։",
			"Նախաճաշը համեղ էր, տեսարանը՝ հիանալի։",
			"Գտնվելու վայրը հարմար է, ամեն ինչ մոտ է։",
		},
		neutral: []string{
			"Սենյակը {n}-րդ հարկում էր։",
			"Ավտոկայանատեղին վճարովի է։",
			"Վճարեցինք {amount}։",
		},
		endNeg: []string{"Այլևս երբեք։", "Շատ հիասթափված ենք, պահանջում ենք գումարի վերադարձ։"},
		endPos: []string{"Անպայման կվերադառնանք։", "Շնորհակալություն ամբողջ թիմին։"},
		titNeg: []string{"Սարսափելի", "Խորհուրդ չեմ տալիս"},
		titPos: []string{"Հիանալի", "Խորհուրդ եմ տալիս"},
	},
	"de": {
		open: []string{
			"Wir waren {n} Nächte im {brand} in {loc}.",
			"Geschäftsreise, zum zweiten Mal hier.",
			"Mit der Familie nach einem langen Flug angekommen.",
		},
		neg: map[string][]string{
			"staff": {
				"Die Dame an der Rezeption war unfreundlich und hat uns einfach ignoriert.",
				"Der Manager wollte sich unsere Beschwerde nicht einmal anhören.",
			},
			"wait": {
				"Wir haben {n} Minuten auf den Check-in gewartet.",
				"Der Zimmerservice kam nach über einer Stunde, das Essen war kalt.",
			},
			"billing": {
				"Man hat mir {amount} zu viel abgebucht, die Erstattung fehlt bis heute.",
				"Die Nacht wurde doppelt berechnet, die Buchhaltung antwortet nicht.",
			},
			"cleanliness": {
				"Das Zimmer war schmutzig, Flecken auf der Bettwäsche und Schimmel im Bad.",
				"Unter dem Bett lagen Kakerlaken.",
			},
			"safety": {
				"Das Türschloss war kaputt und niemand hat es repariert.",
			},
		},
		legal:  []string{"Ich habe einen Anwalt eingeschaltet und werde klagen.", "Das ist Betrug, die Verbraucherzentrale ist informiert."},
		health: []string{"Nach dem Frühstück hatte mein Sohn eine Lebensmittelvergiftung, wir mussten ins Krankenhaus."},
		pos: []string{
			"Sehr freundliches Personal und ein sauberes, ruhiges Zimmer.",
			"Das Frühstück war hervorragend.",
			"Top Lage, alles zu Fuß erreichbar.",
		},
		neutral: []string{
			"Das Zimmer lag im {n}. Stock.",
			"Parken kostet extra.",
			"Wir haben {amount} bezahlt.",
		},
		endNeg: []string{"Nie wieder. Finger weg!", "Sehr enttäuscht, ich will mein Geld zurück."},
		endPos: []string{"Gerne wieder!", "Danke an das ganze Team."},
		titNeg: []string{"Katastrophe", "Nicht empfehlenswert", "Abzocke"},
		titPos: []string{"Sehr gut", "Empfehlenswert"},
	},
	"fr": {
		open: []string{
			"Nous avons passé {n} nuits au {brand} de {loc}.",
			"Voyage d'affaires, deuxième séjour ici.",
			"Arrivés en famille après un long vol.",
		},
		neg: map[string][]string{
			"staff": {
				"La réceptionniste était impolie et nous a complètement ignorés.",
				"Le responsable a refusé d'écouter notre réclamation.",
			},
			"wait": {
				"Nous avons attendu {n} minutes pour l'enregistrement.",
				"Le room service est arrivé après une heure, le repas était froid.",
			},
			"billing": {
				"On m'a débité {amount} de trop et le remboursement n'est jamais arrivé.",
				"La même nuit a été facturée deux fois.",
			},
			"cleanliness": {
				"La chambre était sale, des taches sur les draps et de la moisissure dans la salle de bain.",
				"Nous avons trouvé des cafards sous le lit.",
			},
			"safety": {
				"La serrure de la porte était cassée et personne ne l'a réparée.",
			},
		},
		legal:  []string{"J'ai contacté mon avocat et je vais porter plainte.", "C'est une arnaque, j'ai saisi une association de consommateurs."},
		health: []string{"Mon fils a eu une intoxication alimentaire après le petit-déjeuner, direction l'hôpital."},
		pos: []string{
			"Personnel très accueillant, chambre propre et calme.",
			"Le petit-déjeuner était excellent.",
			"Emplacement idéal, tout est à pied.",
		},
		neutral: []string{
			"La chambre était au {n}e étage.",
			"Le parking est payant.",
			"Nous avons payé {amount}.",
		},
		endNeg: []string{"Plus jamais. À éviter.", "Très déçus, je demande un remboursement."},
		endPos: []string{"Nous reviendrons avec plaisir !", "Merci à toute l'équipe."},
		titNeg: []string{"À fuir", "Décevant", "Arnaque"},
		titPos: []string{"Excellent séjour", "Très bien"},
	},
	"es": {
		open: []string{
			"Estuvimos {n} noches en el {brand} de {loc}.",
			"Viaje de trabajo, segunda vez aquí.",
			"Llegamos en familia tras un vuelo largo.",
		},
		neg: map[string][]string{
			"staff": {
				"La recepcionista fue maleducada y nos ignoró por completo.",
				"El gerente se negó a escuchar nuestra queja.",
			},
			"wait": {
				"Esperamos {n} minutos para hacer el check-in.",
				"El servicio de habitaciones tardó una hora y la comida llegó fría.",
			},
			"billing": {
				"Me cobraron {amount} de más y el reembolso nunca llegó.",
				"Nos cobraron la misma noche dos veces.",
			},
			"cleanliness": {
				"La habitación estaba sucia, con manchas en las sábanas y moho en el baño.",
				"Encontramos cucarachas debajo de la cama.",
			},
			"safety": {
				"La cerradura de la puerta estaba rota y nadie la arregló.",
			},
		},
		legal:  []string{"He hablado con mi abogado y voy a denunciarlos.", "Esto es una estafa, ya presenté una reclamación."},
		health: []string{"Mi hijo sufrió una intoxicación alimentaria tras el desayuno y acabamos en el hospital."},
		pos: []string{
			"Personal muy amable y habitación limpia.",
			"El desayuno estaba buenísimo.",
			"Ubicación perfecta, todo cerca.",
		},
		neutral: []string{
			"La habitación estaba en el piso {n}.",
			"El aparcamiento se paga aparte.",
			"Pagamos {amount}.",
		},
		endNeg: []string{"Nunca más. No lo recomiendo.", "Muy decepcionados, quiero un reembolso."},
		endPos: []string{"¡Volveremos!", "Gracias a todo el equipo."},
		titNeg: []string{"Horrible", "No lo recomiendo"},
		titPos: []string{"Excelente", "Muy recomendable"},
	},
}

// names are English first names; the entity extractor should find them.
var names = []string{"Maria", "John", "Sarah", "David", "Emily", "Michael", "Jessica", "Robert", "Linda", "James", "Olivia", "Daniel", "Grace", "Thomas", "Hannah", "Peter"}

// places are English place names, for the same reason.
var places = []string{"Victoria Station", "Oxford Street", "Heathrow Airport", "Central Park", "Union Square", "the Old Town", "Kings Cross", "Hyde Park", "Market Street", "the harbour"}

var surnames = []string{"Smith", "Horvat", "Petrosyan", "Sharma", "Santos", "Ivanova", "Müller", "Dubois", "García", "Kovač", "Reyes", "Patel", "Novak", "Brown", "Sargsyan", "Kumar", "Bauer", "Martin", "Lopez", "Popov"}

var firstNames = []string{"Ana", "Marko", "Anna", "Ivan", "Priya", "Rahul", "Jose", "Maricel", "Aram", "Lilit", "Lukas", "Sophie", "Camille", "Lucas", "Carmen", "Pablo", "Olga", "Dmitri", "Emma", "Noah", "Mia", "Leo", "Nina", "Ravi", "Tigran"}
