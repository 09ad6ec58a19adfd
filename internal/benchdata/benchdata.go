// Package benchdata generates realistic mentions for scale benchmarks:
// multilingual review and social texts from templates, ratings that agree
// with the tone, repeat authors, a few brands over ~50 locations. The same
// Options always give the same sequence, so a cached store can be checked
// against the generator that built it.
package benchdata

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

// Version changes whenever the generated sequence changes for some Options;
// caches of generated stores record it.
const Version = "benchdata/1"

// ScorerVersion marks pre-scored mentions (NegativeShare > 0).
const ScorerVersion = "benchdata/1"

// Columns is the mentions columns WriteJSONEachRow writes, in order, for
// `INSERT INTO mentions (Columns) FORMAT JSONEachRow`.
const Columns = "id, source, kind, brand, location, url, author, title, text, rating, rating_max, lang, published_at, collected_at, " +
	"likes, shares, replies, followers, parent_id, story_id, app_version, sentiment, negative, severity, aspects, signals, reasons, " +
	"entities, scorer_version, truncated, version"

// Options say what to generate.
type Options struct {
	N    int
	Seed int64
	// Start and End bound published_at; zero: the two years before
	// 2026-12-01. Mentions come in time order (with jitter), as exports do.
	Start, End time.Time
	// NegativeShare > 0 makes pre-scored mentions, that share negative.
	// 0 leaves them unscored (about 30% negative in tone).
	NegativeShare float64
}

var defaultEnd = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func (o Options) bounds() (time.Time, time.Time) {
	start, end := o.Start.UTC(), o.End.UTC()
	if end.IsZero() {
		end = defaultEnd
	}
	if start.IsZero() {
		start = end.AddDate(-2, 0, 0)
	}
	if !end.After(start) {
		end = start.Add(time.Second)
	}
	return start, end
}

type location struct{ name, lang, brand string }

var brands = []string{"Sunrise Hotels", "Meridian Inns", "Oakwood Suites", "Coastline Resorts"}

// locations: the demo config's four (Sunrise Hotels) first, so that the
// demo collection meets history of its own brand and locations.
var locations = func() []location {
	groups := []struct {
		lang   string
		cities []string
	}{
		{"hr", []string{"Zagreb", "Split", "Rijeka", "Dubrovnik", "Osijek", "Zadar"}},
		{"hy", []string{"Yerevan", "Gyumri", "Vanadzor", "Dilijan"}},
		{"hi", []string{"Mumbai", "Delhi", "Jaipur", "Lucknow", "Varanasi", "Pune"}},
		{"tl", []string{"Manila", "Cebu", "Davao", "Quezon City", "Baguio"}},
		{"ru", []string{"Moscow", "Saint Petersburg", "Kazan", "Sochi", "Novosibirsk"}},
		{"de", []string{"Berlin", "Munich", "Hamburg", "Vienna", "Zurich"}},
		{"fr", []string{"Paris", "Lyon", "Nice", "Marseille", "Geneva"}},
		{"es", []string{"Madrid", "Barcelona", "Seville", "Valencia"}},
		{"en", []string{"London", "Manchester", "Edinburgh", "Dublin", "New York", "Chicago", "Boston", "Sydney", "Toronto", "Singapore"}},
	}
	var out []location
	for _, g := range groups {
		for i, c := range g.cities {
			b := brands[1+(len(out)+i)%3]
			if i < 2 {
				b = brands[0]
			}
			out = append(out, location{c, g.lang, b})
		}
	}
	return out
}()

var langs = []string{"en", "ru", "hi", "hr", "tl", "hy", "de", "fr", "es"}

type source struct {
	name, kind, host string
	ratingMax        float64
}

var sources = []source{
	{"tripadvisor", mention.KindReview, "www.tripadvisor.example", 5},
	{"google", mention.KindReview, "maps.google.example", 5},
	{"booking", mention.KindReview, "www.booking.example", 10},
	{"trustpilot", mention.KindReview, "www.trustpilot.example", 5},
	{"expedia", mention.KindReview, "www.expedia.example", 5},
	{"mastodon", mention.KindPost, "mastodon.example", 0},
	{"reddit", mention.KindPost, "www.reddit.example", 0},
	{"bluesky", mention.KindPost, "bsky.example", 0},
}

// gen holds one generator's reusable state; every mention reseeds the
// source from (seed, index), so the sequence is the same however it is read.
type gen struct {
	o          Options
	start      time.Time
	span       float64 // seconds
	pcg        *rand.PCG
	r          *rand.Rand
	authors    *rand.Zipf
	buf        []byte
	usedNames  []string
	usedAspect []string
	usedTmpl   []string
}

func newGen(o Options) *gen {
	g := &gen{o: o, pcg: rand.NewPCG(0, 0)}
	g.r = rand.New(g.pcg)
	start, end := o.bounds()
	g.start, g.span = start, end.Sub(start).Seconds()
	pool := uint64(max(1000, o.N/3))
	// s=1.2: a few prolific authors, a long tail of one-off ones.
	g.authors = rand.NewZipf(g.r, 1.2, 2, pool-1)
	return g
}

// Mentions calls fn with each of o.N mentions, in order. The mention is
// reused after fn returns: copy it to keep it.
func Mentions(o Options, fn func(*mention.Mention) error) error {
	return generate(o, func(g *gen, lo, hi int) []mention.Mention {
		ms := make([]mention.Mention, hi-lo)
		for i := range ms {
			g.mention(lo+i, &ms[i], true)
		}
		return ms
	}, func(ms []mention.Mention) error {
		for i := range ms {
			if err := fn(&ms[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// chunk is how many mentions one worker generates at a time.
const chunk = 2048

// generate runs produce over chunks of indexes on all cores and hands the
// results to consume in index order: each mention depends only on its
// index, so the output is the same whatever the scheduling.
func generate[T any](o Options, produce func(g *gen, lo, hi int) T, consume func(T) error) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	nchunks := (o.N + chunk - 1) / chunk
	// One result slot per chunk in flight; the consumer reads them in order.
	slots := make(chan chan T, 2*workers)
	jobs := make(chan struct {
		lo, hi int
		out    chan T
	}, 2*workers)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		defer close(slots)
		defer close(jobs)
		for c := 0; c < nchunks; c++ {
			out := make(chan T, 1)
			lo, hi := c*chunk, min((c+1)*chunk, o.N)
			select {
			case slots <- out:
			case <-stop:
				return
			}
			select {
			case jobs <- struct {
				lo, hi int
				out    chan T
			}{lo, hi, out}:
			case <-stop:
				return
			}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			g := newGen(o)
			for j := range jobs {
				j.out <- produce(g, j.lo, j.hi)
			}
		}()
	}
	for out := range slots {
		var v T
		select {
		case v = <-out:
		case <-stop:
			return nil
		}
		if err := consume(v); err != nil {
			return err
		}
	}
	return nil
}

func (g *gen) mention(i int, m *mention.Mention, story bool) {
	g.pcg.Seed(uint64(g.o.Seed), uint64(i)*0x9E3779B97F4A7C15+1)
	r := g.r
	*m = mention.Mention{}

	loc := locations[r.IntN(len(locations))]
	lang := loc.lang
	switch x := r.Float64(); {
	case x < 0.25:
		lang = "en"
	case x < 0.35:
		lang = langs[r.IntN(len(langs))]
	}
	src := sources[r.IntN(5)]
	if r.Float64() < 0.2 {
		src = sources[5+r.IntN(3)]
	}

	// Time order with up to ±12 h of jitter, kept inside the range.
	sec := (float64(i)+0.5)/float64(max(g.o.N, 1))*g.span + (r.Float64()-0.5)*86400
	sec = math.Min(math.Max(sec, 0), g.span-1)
	pub := g.start.Add(time.Duration(sec) * time.Second)
	col := pub.Add(time.Duration(60+r.IntN(3*86400)) * time.Second)

	negShare := g.o.NegativeShare
	if negShare <= 0 {
		negShare = 0.3
	}
	tone := 1 // 0 negative, 1 neutral, 2 positive
	switch x := r.Float64(); {
	case x < negShare:
		tone = 0
	case x < negShare+(1-negShare)*0.2:
		tone = 1
	default:
		tone = 2
	}

	author := g.author(g.authors.Uint64())
	if src.kind == mention.KindPost {
		author = "@" + strings.ToLower(strings.ReplaceAll(author, " ", "_"))
	}
	text, title, severity, signals := g.text(lang, loc, tone, src.kind == mention.KindReview)

	siteID := strconv.FormatUint(uint64(g.o.Seed)&0xffff, 36) + "-" + strconv.Itoa(i)
	m.ID = src.name + ":" + siteID
	m.Source, m.Kind, m.Brand, m.Location = src.name, src.kind, loc.brand, loc.name
	m.URL = "https://" + src.host + "/" + slug(loc.brand) + "/" + slug(loc.name) + "/" + siteID
	m.Author, m.Title, m.Text, m.Lang = author, title, text, lang
	m.PublishedAt, m.CollectedAt = pub, col
	m.Version = uint64(col.UnixNano()) + 1
	if src.kind == mention.KindReview {
		m.RatingMax = src.ratingMax
		m.Rating = rating(r, tone) * src.ratingMax / 5
	} else {
		m.Followers = uint64(r.ExpFloat64() * 400)
		m.Likes = uint64(r.ExpFloat64() * 8)
		m.Replies = uint64(r.ExpFloat64() * 2)
		m.Shares = uint64(r.ExpFloat64())
	}
	if story {
		// The importer derives it itself; exports skip the cost.
		m.StoryID = mention.StoryID(m.ID, m.Author, m.Text)
	}

	if g.o.NegativeShare > 0 {
		m.ScorerVersion = ScorerVersion
		switch tone {
		case 0:
			m.Negative = true
			m.Sentiment = -0.3 - 0.65*r.Float64()
			m.Severity = severity
			m.Aspects = append([]string(nil), g.usedAspect...)
			m.Signals = signals
			m.Reasons = []string{"benchdata: negative template"}
			if lang == "en" {
				for _, n := range g.usedNames {
					m.Entities = append(m.Entities, n+" (PERSON)")
				}
			}
		case 1:
			m.Sentiment = -0.1 + 0.3*r.Float64()
			m.Severity = "none"
		default:
			m.Sentiment = 0.3 + 0.6*r.Float64()
			m.Severity = "none"
		}
	}
}

func rating(r *rand.Rand, tone int) float64 {
	switch tone {
	case 0:
		return float64(1 + r.IntN(2) + r.IntN(2)*r.IntN(2)) // 1-3, mostly 1-2
	case 1:
		return float64(3 + r.IntN(2))
	}
	return float64(4 + min(r.IntN(3), 1)) // mostly 5
}

func (g *gen) author(k uint64) string {
	f := firstNames[k%uint64(len(firstNames))]
	// The surname index mixes in k so that the most frequent authors (the
	// lowest k) do not all share one surname; still one name per k.
	s := surnames[(k/uint64(len(firstNames))*2+k)%uint64(len(surnames))]
	if n := k / uint64(len(firstNames)*len(surnames)); n > 0 {
		return f + " " + s[:1] + ". " + strconv.FormatUint(n, 10)
	}
	return f + " " + s
}

func slug(s string) string {
	return strings.ToLower(strings.ReplaceAll(s, " ", "-"))
}

// text composes the body: opener, complaints or praise, neutral detail,
// closer, until a target length drawn from a long-tailed distribution.
func (g *gen) text(lang string, loc location, tone int, review bool) (text, title, severity string, signals []string) {
	r := g.r
	lx := lexicons[lang]
	g.buf = g.buf[:0]
	g.usedNames = g.usedNames[:0]
	g.usedAspect = g.usedAspect[:0]
	g.usedTmpl = g.usedTmpl[:0]
	// Log-normal lengths in runes: median ~125, a long tail to the cap.
	target := int(math.Exp(math.Log(125) + 0.75*r.NormFloat64()))
	target = min(max(target, 40), 1500)
	runes := 0
	// add appends one sentence from pool; false when it would pass the
	// 1500-rune cap (templates grow by at most ~20 runes when expanded).
	add := func(pool []string) bool {
		s := pool[r.IntN(len(pool))]
		// Real reviewers rarely repeat a sentence: redraw once or twice.
		for try := 0; try < 2 && contains(g.usedTmpl, s); try++ {
			s = pool[r.IntN(len(pool))]
		}
		g.usedTmpl = append(g.usedTmpl, s)
		if runes > 0 && runes+utf8.RuneCountInString(s)+20 > 1500 {
			return false
		}
		if runes > 0 {
			g.buf = append(g.buf, ' ')
			runes++
		}
		before := len(g.buf)
		g.buf = g.expand(g.buf, s, lang, loc)
		runes += utf8.RuneCount(g.buf[before:])
		return true
	}
	severity = "none"
	if r.Float64() < 0.6 {
		add(lx.open)
	}
	switch tone {
	case 0:
		n := 1 + r.IntN(2)
		for k := 0; k < n; k++ {
			a := aspects[r.IntN(len(aspects))]
			if !contains(g.usedAspect, a) {
				g.usedAspect = append(g.usedAspect, a)
			}
			add(lx.neg[a])
		}
		severity = []string{"low", "medium", "medium", "high"}[r.IntN(4)]
		if contains(g.usedAspect, "safety") {
			severity = "high"
		}
		if x := r.Float64(); x < 0.06 {
			add(lx.legal)
			signals = append(signals, "legal")
			severity = "critical"
		} else if x < 0.11 {
			add(lx.health)
			signals = append(signals, "health")
			severity = "critical"
		}
		for ok := true; ok && runes < target; {
			if r.IntN(3) == 0 {
				ok = add(lx.neutral)
			} else {
				a := aspects[r.IntN(len(aspects))]
				if ok = add(lx.neg[a]); ok && !contains(g.usedAspect, a) {
					g.usedAspect = append(g.usedAspect, a)
				}
			}
		}
		add(lx.endNeg)
	case 1:
		add(lx.neutral)
		for ok := true; ok && runes < target; {
			if r.IntN(4) == 0 {
				ok = add(lx.pos)
			} else {
				ok = add(lx.neutral)
			}
		}
	default:
		add(lx.pos)
		for ok := true; ok && runes < target; {
			if r.IntN(3) == 0 {
				ok = add(lx.neutral)
			} else {
				ok = add(lx.pos)
			}
		}
		if r.IntN(2) == 0 {
			add(lx.endPos)
		}
	}
	for runes < 40 {
		add(lx.neutral)
	}
	text = string(g.buf)
	if review && r.Float64() < 0.7 {
		if tone == 0 {
			title = lx.titNeg[r.IntN(len(lx.titNeg))]
		} else {
			title = lx.titPos[r.IntN(len(lx.titPos))]
		}
	}
	return text, title, severity, signals
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// expand appends template s with its placeholders filled.
func (g *gen) expand(b []byte, s, lang string, loc location) []byte {
	r := g.r
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return append(b, s...)
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return append(b, s...)
		}
		b = append(b, s[:i]...)
		switch s[i+1 : i+j] {
		case "name":
			n := names[r.IntN(len(names))]
			if !contains(g.usedNames, n) {
				g.usedNames = append(g.usedNames, n)
			}
			b = append(b, n...)
		case "place":
			b = append(b, places[r.IntN(len(places))]...)
		case "loc":
			b = append(b, loc.name...)
		case "brand":
			b = append(b, loc.brand...)
		case "n":
			b = strconv.AppendInt(b, int64(2+r.IntN(58)), 10)
		case "amount":
			switch lang {
			case "en":
				b = append(b, '$')
				b = strconv.AppendInt(b, int64(20+r.IntN(480)), 10)
			case "ru":
				b = strconv.AppendInt(b, int64(1000+r.IntN(40000)), 10)
				b = append(b, " руб."...)
			case "hi":
				b = append(b, "₹"...)
				b = strconv.AppendInt(b, int64(500+r.IntN(30000)), 10)
			case "tl":
				b = append(b, "₱"...)
				b = strconv.AppendInt(b, int64(500+r.IntN(20000)), 10)
			case "hy":
				b = strconv.AppendInt(b, int64(5000+r.IntN(200000)), 10)
				b = append(b, " դրամ"...)
			default:
				b = strconv.AppendInt(b, int64(20+r.IntN(480)), 10)
				b = append(b, " €"...)
			}
		default:
			b = append(b, s[i:i+j+1]...)
		}
		s = s[i+j+1:]
	}
}

// WriteExport writes o's mentions as the JSONL export `earshot import`
// reads: RFC 3339 dates, no collected_at (the importer stamps it), and the
// score fields only when o is pre-scored.
func WriteExport(w io.Writer, o Options) error {
	return writeLines(w, o, false, appendExport)
}

// WriteJSONEachRow writes the same mentions as rows of the mentions table
// (see Columns), in the text forms ClickHouse 18.16 parses: DateTime as
// "YYYY-MM-DD hh:mm:ss" (read in the server's time zone, so run it in UTC),
// booleans as 0/1.
func WriteJSONEachRow(w io.Writer, o Options) error {
	return writeLines(w, o, true, appendRow)
}

// writeLines encodes chunks of lines in parallel and writes them in order.
func writeLines(w io.Writer, o Options, story bool, line func([]byte, *mention.Mention) []byte) error {
	err := generate(o, func(g *gen, lo, hi int) []byte {
		var m mention.Mention
		b := make([]byte, 0, (hi-lo)*700)
		for i := lo; i < hi; i++ {
			g.mention(i, &m, story)
			b = line(b, &m)
		}
		return b
	}, func(b []byte) error {
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		return fmt.Errorf("benchdata: write: %w", err)
	}
	return nil
}

func appendExport(b []byte, m *mention.Mention) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = appendField(b, "source", m.Source)
	b = appendField(b, "kind", m.Kind)
	b = appendField(b, "brand", m.Brand)
	b = appendField(b, "location", m.Location)
	b = appendField(b, "author", m.Author)
	if m.Title != "" {
		b = appendField(b, "title", m.Title)
	}
	b = appendField(b, "text", m.Text)
	if m.RatingMax > 0 {
		b = append(b, `,"rating":`...)
		b = strconv.AppendFloat(b, m.Rating, 'f', -1, 64)
		b = append(b, `,"rating_max":`...)
		b = strconv.AppendFloat(b, m.RatingMax, 'f', -1, 64)
	}
	b = appendField(b, "lang", m.Lang)
	b = append(b, `,"published_at":"`...)
	b = m.PublishedAt.AppendFormat(b, time.RFC3339)
	b = append(b, '"')
	b = appendField(b, "url", m.URL)
	if m.Kind == mention.KindPost {
		b = appendUint(b, "likes", m.Likes)
		b = appendUint(b, "shares", m.Shares)
		b = appendUint(b, "replies", m.Replies)
		b = appendUint(b, "followers", m.Followers)
	}
	if m.ScorerVersion != "" {
		b = appendScore(b, m, false)
	}
	return append(b, "}\n"...)
}

func appendRow(b []byte, m *mention.Mention) []byte {
	const dt = "2006-01-02 15:04:05"
	b = append(b, `{"id":`...)
	b = appendString(b, m.ID)
	b = appendField(b, "source", m.Source)
	b = appendField(b, "kind", m.Kind)
	b = appendField(b, "brand", m.Brand)
	b = appendField(b, "location", m.Location)
	b = appendField(b, "url", m.URL)
	b = appendField(b, "author", m.Author)
	b = appendField(b, "title", m.Title)
	b = appendField(b, "text", m.Text)
	b = append(b, `,"rating":`...)
	b = strconv.AppendFloat(b, m.Rating, 'f', -1, 64)
	b = append(b, `,"rating_max":`...)
	b = strconv.AppendFloat(b, m.RatingMax, 'f', -1, 64)
	b = appendField(b, "lang", m.Lang)
	b = append(b, `,"published_at":"`...)
	b = m.PublishedAt.UTC().AppendFormat(b, dt)
	b = append(b, `","collected_at":"`...)
	b = m.CollectedAt.UTC().AppendFormat(b, dt)
	b = append(b, '"')
	b = appendUint(b, "likes", m.Likes)
	b = appendUint(b, "shares", m.Shares)
	b = appendUint(b, "replies", m.Replies)
	b = appendUint(b, "followers", m.Followers)
	b = appendField(b, "parent_id", m.ParentID)
	b = appendField(b, "story_id", m.StoryID)
	b = appendField(b, "app_version", m.AppVersion)
	b = appendScore(b, m, true)
	b = append(b, `,"truncated":0`...)
	b = appendUint(b, "version", m.Version)
	return append(b, "}\n"...)
}

// appendScore writes the score fields; table form writes every column
// (negative as 0/1, severity "none" when unscored, entities).
func appendScore(b []byte, m *mention.Mention, table bool) []byte {
	b = append(b, `,"sentiment":`...)
	b = strconv.AppendFloat(b, m.Sentiment, 'f', 4, 64)
	switch {
	case table && m.Negative:
		b = append(b, `,"negative":1`...)
	case table:
		b = append(b, `,"negative":0`...)
	default:
		b = append(b, `,"negative":`...)
		b = strconv.AppendBool(b, m.Negative)
	}
	sev := m.Severity
	if sev == "" {
		sev = "none"
	}
	b = appendField(b, "severity", sev)
	b = appendList(b, "aspects", m.Aspects)
	b = appendList(b, "signals", m.Signals)
	b = appendList(b, "reasons", m.Reasons)
	if table {
		b = appendList(b, "entities", m.Entities)
	}
	return appendField(b, "scorer_version", m.ScorerVersion)
}

func appendField(b []byte, k, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

func appendUint(b []byte, k string, v uint64) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}

func appendList(b []byte, k string, vs []string) []byte {
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, `":[`...)
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, v)
	}
	return append(b, ']')
}

// appendString appends s as a JSON string. Texts are our own valid UTF-8,
// so only quotes, backslashes and control characters need escaping.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// Places returns the generated brands and their locations, for configs
// that must name every brand and location the data holds.
func Places() map[string][]string {
	out := map[string][]string{}
	for _, l := range locations {
		out[l.brand] = append(out[l.brand], l.name)
	}
	return out
}
