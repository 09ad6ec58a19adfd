package selector

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	outOf   = regexp.MustCompile(`(?i)(\d+(?:[.,]\d+)?)\s*(?:/|out of|of|von|из|od|sa|от)\s*(\d+(?:[.,]\d+)?)`)
	percent = regexp.MustCompile(`(?i)(?:width\s*:\s*)?(\d+(?:[.,]\d+)?)\s*%`)
	number  = regexp.MustCompile(`\d+(?:[.,]\d+)?`)
	// A rating kept in a class name: TripAdvisor's "ui_bubble_rating
	// bubble_30" (3 of 5, in tenths), "stars-4", "rating-45".
	classRating = regexp.MustCompile(`(?:^|\s)[A-Za-z][\w-]*?[_-](\d{1,3})(?:\s|$)`)
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
	if m := classRating.FindStringSubmatch(s); m != nil && !strings.ContainsAny(s, ":%") {
		n := num(m[1])
		switch {
		case n <= max:
			return valid(n, max)
		case n <= max*10:
			return valid(n/10, max) // tenths: bubble_45 is 4.5
		}
		return 0, 0, false
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
