package selector

import (
	"testing"
)

func TestParseRating(t *testing.T) {
	tests := []struct {
		in       string
		max      float64
		r, scale float64
		ok       bool
	}{
		{"4 out of 5", 0, 4, 5, true},
		{"Rated 4.5/5", 0, 4.5, 5, true},
		{"4,5 von 5 Sternen", 0, 4.5, 5, true},
		{"8 / 10", 0, 8, 10, true},
		{"★★★★☆", 0, 4, 5, true},
		{"⭐⭐", 0, 2, 2, true},
		{"width: 80%", 5, 4, 5, true},
		{"width:60%", 10, 6, 10, true},
		{"3", 5, 3, 5, true},
		{"Rated 2 stars", 0, 2, 5, true},
		{"7 out of 5", 0, 0, 0, false},
		{"☆☆☆☆☆", 0, 0, 0, false},
		{"great", 0, 0, 0, false},
		{"150%", 5, 0, 0, false},
		{"", 0, 0, 0, false},
	}
	for _, tt := range tests {
		r, scale, ok := ParseRating(tt.in, tt.max)
		if r != tt.r || scale != tt.scale || ok != tt.ok {
			t.Errorf("ParseRating(%q, %v) = %v, %v, %v; want %v, %v, %v", tt.in, tt.max, r, scale, ok, tt.r, tt.scale, tt.ok)
		}
	}
}

func FuzzParseRating(f *testing.F) {
	for _, s := range []string{"4 out of 5", "★★★☆☆", "width: 80%", "4,5/5", "\xff★"} {
		f.Add(s, 5.0)
	}
	f.Fuzz(func(t *testing.T, s string, max float64) {
		r, scale, ok := ParseRating(s, max)
		if ok && (r <= 0 || r > scale) {
			t.Errorf("ParseRating(%q, %v) = %v of %v", s, max, r, scale)
		}
	})
}
