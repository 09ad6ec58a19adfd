package selector

import (
	"testing"
	"time"
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

func TestParseDate(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-20", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), true},
		{"Reviewed 3 November 2026", time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC), true},
		{"Nov 2, 2026", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), true},
		{"3 days ago", now.Add(-72 * time.Hour), true},
		{"an hour ago", now.Add(-time.Hour), true},
		{"2 weeks ago", now.Add(-14 * 24 * time.Hour), true},
		{"yesterday", time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), true},
		{"some time", time.Time{}, false},
		{"99999999 years ago", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := ParseDate(tt.in, now)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
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

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"3 days ago", "2026-11-20", "yesterday", "Reviewed 3 November 2026"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		if got, ok := ParseDate(s, now); ok && got.IsZero() {
			t.Errorf("ParseDate(%q) ok with zero time", s)
		}
	})
}
