package selector

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/earshot/earshot/mention"
)

var (
	outOf   = regexp.MustCompile(`(?i)(\d+(?:[.,]\d+)?)\s*(?:/|out of|of|von|из|od|sa|от)\s*(\d+(?:[.,]\d+)?)`)
	percent = regexp.MustCompile(`(?i)(?:width\s*:\s*)?(\d+(?:[.,]\d+)?)\s*%`)
	number  = regexp.MustCompile(`\d+(?:[.,]\d+)?`)
)

// ParseRating reads a rating as review sites show it: "4 out of 5", "4/5",
// "4,5 von 5", "★★★★☆", "width: 80%" (a star bar), "Rated 4 stars" or a
// bare number. max is the scale when the text does not say (0: 5). It
// returns the rating and its scale, or ok=false.
func ParseRating(s string, max float64) (rating, scale float64, ok bool) {
	if max <= 0 {
		max = 5
	}
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 200 {
		return 0, 0, false
	}
	if full, total := stars(s); total > 0 {
		return valid(float64(full), float64(total))
	}
	if m := outOf.FindStringSubmatch(s); m != nil {
		r, s2 := num(m[1]), num(m[2])
		return valid(r, s2)
	}
	if m := percent.FindStringSubmatch(s); m != nil {
		p := num(m[1])
		if p <= 0 || p > 100 {
			return 0, 0, false
		}
		return valid(math.Round(p/100*max*100)/100, max)
	}
	if m := number.FindString(s); m != "" {
		return valid(num(m), max)
	}
	return 0, 0, false
}

func valid(r, scale float64) (float64, float64, bool) {
	if r <= 0 || scale <= 0 || r > scale || math.IsNaN(r) || math.IsInf(r, 0) {
		return 0, 0, false
	}
	return r, scale, true
}

// stars counts filled and total star glyphs.
func stars(s string) (full, total int) {
	if !utf8.ValidString(s) {
		return 0, 0
	}
	for _, r := range s {
		switch r {
		case '★', '⭐', '🌟':
			full++
			total++
		case '☆', '✩', '✰':
			total++
		}
	}
	return full, total
}

func num(s string) float64 {
	f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
	if err != nil {
		return 0
	}
	return f
}

var relative = regexp.MustCompile(`(?i)^(a|an|one|\d+)\s+(second|minute|hour|day|week|month|year)s?\s+ago$`)

// ParseDate reads absolute dates (the layouts mention.ParseTime knows, plus
// "2 January 2006" forms) and relative ones ("3 days ago", "an hour ago",
// "yesterday", "today") against now. Months and years ago are approximate
// (30 and 365 days): such reviews are old news for alerting anyway.
func ParseDate(s string, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "Reviewed "))
	s = strings.TrimPrefix(s, "on ")
	if t, err := mention.ParseTime(s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2 January 2006", "January 2006", "Jan 2006", "2. January 2006", "02/01/2006", "2006/01/02", "Monday, January 2, 2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	day := now.UTC().Truncate(24 * time.Hour)
	switch strings.ToLower(s) {
	case "today", "just now":
		return now.UTC(), true
	case "yesterday":
		return day.Add(-24 * time.Hour), true
	}
	m := relative.FindStringSubmatch(strings.ToLower(s))
	if m == nil {
		return time.Time{}, false
	}
	n := 1
	if v, err := strconv.Atoi(m[1]); err == nil {
		n = v
	}
	unit := map[string]time.Duration{"second": time.Second, "minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour,
		"week": 7 * 24 * time.Hour, "month": 30 * 24 * time.Hour, "year": 365 * 24 * time.Hour}[m[2]]
	if n > 100000 {
		return time.Time{}, false
	}
	return now.UTC().Add(-time.Duration(n) * unit), true
}
