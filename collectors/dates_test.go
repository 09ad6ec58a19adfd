package collectors

import (
	"errors"
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	now := time.Date(2024, 3, 20, 12, 0, 0, 0, time.UTC)
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		in, lang string
		want     time.Time
		ambig    bool
	}{
		{"05/02/2024", "de", day(2024, 2, 5), false},
		{"05/02/2024", "fr", day(2024, 2, 5), false},
		{"05/02/2024", "en", day(2024, 5, 2), false},
		{"05/02/2024", "", time.Time{}, true},
		{"13/02/2024", "", day(2024, 2, 13), false},
		{"02/13/2024", "", day(2024, 2, 13), false},
		{"8.6.2020", "de", day(2020, 6, 8), false},
		{"8.6.2020", "", time.Time{}, true},
		{"05.02.2024.", "hr", day(2024, 2, 5), false},
		{"05.02.2024.", "", time.Time{}, true},
		{"5. veljače 2024.", "hr", day(2024, 2, 5), false},
		{"5. veljače 2024.", "", day(2024, 2, 5), false},
		{"prije 3 dana", "hr", now.AddDate(0, 0, -3), false},
		{"vor 2 Tagen", "de", now.AddDate(0, 0, -2), false},
		{"2 дня назад", "ru", now.AddDate(0, 0, -2), false},
		{"2 дня назад", "", now.AddDate(0, 0, -2), false},
		{"Written March 12, 2024", "en", day(2024, 3, 12), false},
		{"Written March 12, 2024", "de", day(2024, 3, 12), false},
		{"Reviewed in the United States on March 3, 2024", "en", day(2024, 3, 3), false},
		{"Edited a year ago", "en", now.AddDate(-1, 0, 0), false},
		{"3 days ago", "", now.AddDate(0, 0, -3), false},
		{"3 days ago", "hr", now.AddDate(0, 0, -3), false}, // not "the 3rd": surrounding words are not dropped first
		{"2024-02-05", "", day(2024, 2, 5), false},
		{"2017-11-03 03:01:00.000000", "", time.Date(2017, 11, 3, 3, 1, 0, 0, time.UTC), false},
		{"March 2024", "en", day(2024, 3, 1), false},
		{"Reviewed 3 November 2023", "en", day(2023, 11, 3), false},
		{"an hour ago", "en", now.Add(-time.Hour), false},
		{"2 weeks ago", "", now.AddDate(0, 0, -14), false},
	}
	for _, tt := range tests {
		t.Run(tt.lang+"/"+tt.in, func(t *testing.T) {
			got, err := ParseDate(tt.in, tt.lang, now)
			if tt.ambig {
				if !errors.Is(err, ErrAmbiguousDate) {
					t.Fatalf("ParseDate = %v, %v; want ErrAmbiguousDate", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(tt.want) {
				t.Errorf("ParseDate = %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "soon", "garbage words here", "99999999 years ago"} {
		if _, err := ParseDate(bad, "en", now); err == nil {
			t.Errorf("ParseDate(%q) = nil error", bad)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"3 days ago", "2026-11-20", "yesterday", "Reviewed 3 November 2026", "05/02/2024", "5. veljače 2024."} {
		f.Add(s, "hr")
	}
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s, lang string) {
		if got, err := ParseDate(s, lang, now); err == nil && got.IsZero() {
			t.Errorf("ParseDate(%q, %q) ok with zero time", s, lang)
		}
	})
}
