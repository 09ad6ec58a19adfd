// Package mention defines the one record every Earshot stage passes on: a
// review, post or comment about a configured brand, plus the fields scoring
// adds. JSON names are the contract for `earshot extract|import|score` and
// the ClickHouse columns (see shared DESIGN.md).
package mention

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kinds of mention.
const (
	KindReview  = "review"
	KindPost    = "post"
	KindComment = "comment"
)

// Severity levels, in increasing order. The ClickHouse column is an Enum8 with
// the same names and ranks, so `severity >= 'high'` works in SQL.
var Severities = []string{"none", "low", "medium", "high", "critical"}

// MaxTextBytes caps the text stored for one mention. Longer texts are cut at
// a rune boundary and the cut is recorded in Truncated (never silently).
const MaxTextBytes = 64 << 10

// Mention is a review, post or comment. Score fields are zero until scoring
// fills them (ScorerVersion empty means "not scored").
type Mention struct {
	ID        string  `json:"id"`
	Source    string  `json:"source"`
	Kind      string  `json:"kind"`
	Brand     string  `json:"brand"`
	Location  string  `json:"location"`
	URL       string  `json:"url"`
	Author    string  `json:"author"`
	Title     string  `json:"title"`
	Text      string  `json:"text"`
	Rating    float64 `json:"rating"`
	RatingMax float64 `json:"rating_max"`
	Lang      string  `json:"lang"`
	// LangFromPage: Lang is only what the page's lang attribute claims
	// (a site's template, often wrong for user comments): the scorer lets
	// a confident detection on the text win. Not stored.
	LangFromPage bool      `json:"-"`
	PublishedAt  time.Time `json:"published_at"`
	CollectedAt  time.Time `json:"collected_at"`
	Likes        uint64    `json:"likes"`
	Shares       uint64    `json:"shares"`
	Replies      uint64    `json:"replies"`
	Followers    uint64    `json:"followers"`
	ParentID     string    `json:"parent_id"`
	// StoryID links the same review posted on several sites: equal for the
	// same author and (normalised) text, else the mention's own id.
	StoryID string `json:"story_id"`
	// AppVersion is the app release an app-store review is about.
	AppVersion string `json:"app_version,omitempty"`

	Score

	// Truncated is true when Normalize cut the text to MaxTextBytes.
	Truncated bool `json:"truncated,omitempty"`
	// Version orders rewrites of the same id (ReplacingMergeTree keeps the
	// highest). Set once when the record is made or re-scored, never at
	// insert time, so a late spool replay cannot override a newer row.
	Version uint64 `json:"version,omitempty"`
}

// Score is what the scorer adds to a mention.
type Score struct {
	Sentiment float64  `json:"sentiment"`
	Negative  bool     `json:"negative"`
	Severity  string   `json:"severity"`
	Aspects   []string `json:"aspects"`
	Signals   []string `json:"signals"`
	Reasons   []string `json:"reasons"`
	// Entities are people, places and organisations named in a flagged
	// English mention, as "Maria (PERSON)".
	Entities      []string `json:"entities,omitempty"`
	ScorerVersion string   `json:"scorer_version"`
}

// StableID returns the id DESIGN.md fixes: the source kind plus the site's
// own id when there is one, else a hash of url, author and text so that the
// same content collected twice gets the same id.
func StableID(kind, siteID, url, author, text string) string {
	if siteID = strings.TrimSpace(siteID); siteID != "" {
		return kind + ":" + siteID
	}
	h := sha256.New()
	for _, s := range []string{url, author, text} {
		h.Write([]byte(strings.TrimSpace(s)))
		h.Write([]byte{0})
	}
	return kind + ":h" + hex.EncodeToString(h.Sum(nil)[:16])
}

// ContentID is the id of a review that has no id or link of its own: a hash
// of the site's host, the reviewed item, the author, the normalised text
// (case, punctuation and spacing dropped) and the publication date when
// known. It never depends on the listing page the review was found on, so
// a review pushed from page 1 to page 2 by newer ones keeps its id.
func ContentID(kind, host, item, author, text string, published time.Time) string {
	var arr [1024]byte
	buf := append(arr[:0], strings.ToLower(strings.TrimSpace(host))...)
	buf = append(buf, 0)
	buf, _ = appendNormalised(buf, item)
	buf = append(buf, 0)
	buf, _ = appendNormalised(buf, author)
	buf = append(buf, 0)
	buf, _ = appendNormalised(buf, text)
	buf = append(buf, 0)
	if !published.IsZero() {
		buf = published.UTC().AppendFormat(buf, "2006-01-02")
	}
	h := sha256.Sum256(buf)
	return kind + ":c" + hex.EncodeToString(h[:16])
}

// NormalisedText is s lower-cased with every run of characters that are
// neither letters nor digits turned into one space: the form ContentID and
// StoryID compare texts in.
func NormalisedText(s string) string {
	b, _ := appendNormalised(nil, s)
	return string(b)
}

// Normalize repairs what can be repaired in place (invalid UTF-8, surrounding
// space, over-long text, missing defaults) and returns an error for what
// cannot: a mention without text (unless it carries a rating: a star-only
// review is a review) or with an impossible rating. now is the
// collection time used when CollectedAt is empty.
func (m *Mention) Normalize(now time.Time) error {
	for _, f := range []*string{&m.ID, &m.Source, &m.Kind, &m.Brand, &m.Location, &m.URL,
		&m.Author, &m.Title, &m.Text, &m.Lang, &m.ParentID} {
		*f = strings.TrimSpace(cleanUTF8(*f))
	}
	if m.Text == "" && m.Title == "" && m.Rating <= 0 {
		return errors.New("mention has neither text, title nor rating")
	}
	if len(m.Text) > MaxTextBytes {
		m.Text = cutUTF8(m.Text, MaxTextBytes)
		m.Truncated = true
	}
	if m.Kind == "" {
		m.Kind = KindReview
	}
	switch m.Kind {
	case KindReview, KindPost, KindComment:
	default:
		return fmt.Errorf("kind %q: want review, post or comment", m.Kind)
	}
	if m.Rating < 0 || m.RatingMax < 0 || (m.RatingMax > 0 && m.Rating > m.RatingMax) {
		return fmt.Errorf("rating %v of %v is out of range", m.Rating, m.RatingMax)
	}
	if m.Rating > 0 && m.RatingMax == 0 {
		if m.Rating > DefaultRatingMax {
			return fmt.Errorf("rating %v without rating_max", m.Rating)
		}
		// A whole or half star is out of 5; another (0.3) keeps no
		// scale, and the scorer says why it ignored it.
		m.RatingMax, _ = RatingScale(m.Rating, 0)
	}
	m.Lang = strings.ToLower(m.Lang)
	if m.CollectedAt.IsZero() {
		m.CollectedAt = now
	}
	m.CollectedAt = m.CollectedAt.UTC().Truncate(time.Second)
	m.PublishedAt = m.PublishedAt.UTC().Truncate(time.Second)
	if m.Severity == "" {
		m.Severity = "none"
	}
	if SeverityRank(m.Severity) < 0 {
		return fmt.Errorf("severity %q: want one of %s", m.Severity, strings.Join(Severities, ", "))
	}
	if m.ID == "" {
		m.ID = StableID(sourceKindOr(m.Source), "", m.URL, m.Author, m.Text)
	}
	if m.StoryID == "" {
		m.StoryID = StoryID(m.ID, m.Author, m.Text)
	}
	if m.Version == 0 {
		m.Version = uint64(now.UnixNano())
	}
	return nil
}

// minStoryRunes is the shortest normalised text linked across sites: short
// texts ("Great!") repeat by chance, long ones do not.
const minStoryRunes = 40

// StoryID returns the story a mention belongs to: a hash of its normalised
// author and text when the text is long enough to be distinctive, else its
// own id. Normalising drops case, punctuation, emoji and spacing, which
// cross-posting sites change.
func StoryID(id, author, text string) string {
	// One buffer holds author, a NUL and the text, normalised; it is hashed
	// in place. Most reviews fit the stack array, so a story id costs no
	// allocation beyond its own string.
	var arr [1024]byte
	buf, _ := appendNormalised(arr[:0], author)
	buf = append(buf, 0)
	buf, runes := appendNormalised(buf, text)
	if runes < minStoryRunes {
		return id
	}
	h := sha256.Sum256(buf)
	return "story:" + hex.EncodeToString(h[:12])
}

// appendNormalised appends s lower-cased, with each run of characters that
// are neither letters nor digits turned into one space (none at either
// end), and returns the result and how many runes it appended. It is the
// same, rune for rune, as walking strings.ToLower(s) (which lowers each rune
// with unicode.ToLower and reads invalid bytes as U+FFFD, not a letter), but
// reads s once and allocates nothing.
func appendNormalised(b []byte, s string) ([]byte, int) {
	start, runes := len(b), 0
	space := false
	var table *[0x10000]rune
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z' || '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				space = true
				continue
			}
			if space && len(b) > start {
				b = append(b, ' ')
				runes++
			}
			b = append(b, c)
			runes++
			space = false
			continue
		}
		if table == nil {
			table = lowerTable()
		}
		var r rune
		if c < 0xe0 && c >= 0xc2 && i+1 < len(s) && s[i+1]&0xc0 == 0x80 {
			// Two bytes (Latin, Greek, Cyrillic, Arabic...), decoded inline.
			r = table[rune(c&0x1f)<<6|rune(s[i+1]&0x3f)]
			i += 2
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
			if r < 0x10000 {
				r = table[r] // U+FFFD, an invalid byte, is no letter: -1
			} else if r = unicode.ToLower(r); !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				r = -1
			}
		}
		if r < 0 {
			space = true
			continue
		}
		if space && len(b) > start {
			b = append(b, ' ')
			runes++
		}
		b = utf8.AppendRune(b, r)
		runes++
		space = false
	}
	return b, runes
}

// lowerTable holds, for each rune of the Basic Multilingual Plane (every
// script reviews are written in), its lower case when that is a letter or
// digit, else -1: unicode's tables are searched once per rune instead of
// once per character of every text. Built on first use; read-only.
var lowerTable = sync.OnceValue(func() *[0x10000]rune {
	t := new([0x10000]rune)
	for r := range t {
		l := unicode.ToLower(rune(r))
		if !unicode.IsLetter(l) && !unicode.IsDigit(l) {
			l = -1
		}
		t[r] = l
	}
	return t
})

// SeverityRank returns the position of s in Severities, or -1.
func SeverityRank(s string) int {
	for i, v := range Severities {
		if v == s {
			return i
		}
	}
	return -1
}

func sourceKindOr(source string) string {
	if source == "" {
		return "import"
	}
	return source
}

// cleanUTF8 replaces each invalid byte sequence with U+FFFD, keeping the rest:
// a review with one broken byte is still worth reading.
func cleanUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

func cutUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ParseTime reads the date layouts exports use: RFC 3339, ISO dates with
// or without time, common US/EU forms, and Unix seconds or milliseconds.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02 15:04:05Z07:00",
		"2006-01-02 15:04", "2006-01-02", "02.01.2006", "02.01.2006 15:04", "01/02/2006", "01/02/2006 15:04:05", "Jan 2, 2006", "2 Jan 2006",
		"January 2, 2006", time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		if n > 1e12 {
			return time.UnixMilli(n).UTC(), nil
		}
		return time.Unix(n, 0).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (want e.g. 2026-11-23T10:00:00Z or 2026-11-23)", s)
}

// Languages lists the languages Earshot scores (ISO 639-1; bs and sr use
// the Croatian lexicon): config validates scoring.languages against it and
// the scorer has a lexicon for each. A fresh slice each call.
func Languages() []string {
	return []string{"ar", "bs", "de", "en", "es", "fr", "hi", "hr", "hy", "id", "it", "nl", "pl", "pt", "ru", "sr", "tl", "tr", "uk"}
}
