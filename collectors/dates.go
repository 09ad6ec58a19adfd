package collectors

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	dps "github.com/markusmobius/go-dateparser"
	"github.com/markusmobius/go-dateparser/date"

	"github.com/earshot/earshot/mention"
)

// ErrAmbiguousDate is returned for a numeric date whose day and month can
// be swapped ("05/02/2024") when no language says which comes first. The
// caller reports it (it is counted on the pass) rather than guessing.
var ErrAmbiguousDate = errors.New("ambiguous date: day and month can be swapped and no page or source language says which is which")

var (
	isoDate     = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}([T ]|$)`)
	numericDate = regexp.MustCompile(`(?:^|[^\d.])(\d{1,2})[./-](\d{1,2})[./-](\d{4}|\d{2})\b`)
	// Words sites put before a date: "Reviewed in the United States on",
	// "Written", "Edited", "Posted". go-dateparser does not skip them even
	// with IgnoreSurroundingText.
	datePrefix = regexp.MustCompile(`(?i)^(?:reviewed|written|posted|edited|published|updated|visited|stayed)\b(?:.*?\bon\b)?\s*:?\s*`)
)

// ParseDate reads a date as a review page shows it, in the page's or the
// source's language (lang, ISO 639-1, may be empty), with relative dates
// ("vor 2 Tagen", "prije 3 dana", "2 дня назад", "a year ago") counted back
// from now. It uses github.com/markusmobius/go-dateparser, which was checked
// before relying on it (v1.4.7, about 0.1-1 ms a date with a language, a few
// ms without). Its surprises, handled here:
//   - without a language it silently reads "05/02/2024" and even "8.6.2020"
//     and "05.02.2024." month first (US order); such dates are
//     ErrAmbiguousDate here unless a day above 12 settles the order.
//   - with IgnoreSurroundingText it still fails on "Reviewed in the United
//     States on March 3, 2024", so known lead-in words are cut first; and
//     that mode reads "3 days ago" with Croatian as the 3rd of the month,
//     so it is tried only after whole-string parses.
//   - "March 2024" gets today's day of month unless PreferredDayOfMonth is
//     set; here it is the first.
//   - with a language given, a date written in another language fails; a
//     failed non-numeric date is retried in English only (sites often keep
//     English dates on translated pages). Full detection was not used for
//     the retry: it read "garbage words here" as a date.
func ParseDate(s, lang string, now time.Time) (time.Time, error) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return time.Time{}, errors.New("empty date")
	}
	if len(s) > 200 {
		return time.Time{}, fmt.Errorf("date %.40q...: too long", s)
	}
	if isoDate.MatchString(s) {
		if t, err := mention.ParseTime(s); err == nil {
			return t, nil
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 1e8 {
		return mention.ParseTime(s) // Unix seconds or milliseconds
	}
	s = datePrefix.ReplaceAllString(s, "")
	lang = strings.ToLower(strings.SplitN(strings.TrimSpace(lang), "-", 2)[0])
	if lang != "" && !dps.IsKnownLocale(lang) {
		lang = ""
	}
	cfg := &dps.Configuration{CurrentTime: now.UTC(), PreferredDayOfMonth: dps.First}
	numeric := false
	if m := numericDate.FindStringSubmatch(s); m != nil {
		numeric = true
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		switch {
		case lang != "":
			// The language's own order decides (de, fr, hr: day first).
		case a > 12 && b <= 12:
			cfg.DateOrder = dps.DMY
		case b > 12 && a <= 12:
			cfg.DateOrder = dps.MDY
		case a == b && a <= 12:
			cfg.DateOrder = dps.DMY // either order gives the same date
		default:
			return time.Time{}, fmt.Errorf("%q: %w", s, ErrAmbiguousDate)
		}
	}
	// Whole-string parses first, in the language then in English; only
	// then with surrounding words ignored, since that mode reads "3 days
	// ago" on a Croatian page as the 3rd of this month.
	var d date.Date
	var err error
	for _, try := range []struct {
		lang   string
		ignore bool
	}{{lang, false}, {"en", false}, {lang, true}, {"en", true}} {
		if try.lang != lang && (lang == "" || lang == "en" || numeric) {
			continue // no second language for numeric dates: the hint decides their order
		}
		cfg.Languages, cfg.IgnoreSurroundingText = nil, try.ignore
		if try.lang != "" {
			cfg.Languages = []string{try.lang}
		}
		if d, err = dps.Parse(cfg, s); err == nil && !d.Time.IsZero() {
			break
		}
	}
	if err != nil || d.Time.IsZero() {
		return time.Time{}, fmt.Errorf("date %q not understood", s)
	}
	return d.Time.UTC(), nil
}
