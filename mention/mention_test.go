package mention

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func TestStableID(t *testing.T) {
	a := StableID("schemaorg", "", "https://x/r", "Ana", "Cold soup")
	if a != StableID("schemaorg", "", "https://x/r", " Ana ", "Cold soup\n") {
		t.Error("surrounding space changed the hash id")
	}
	if a == StableID("schemaorg", "", "https://x/r", "Ana", "Cold soup!") {
		t.Error("different text, same id")
	}
	if got := StableID("appstore", " 123 ", "u", "a", "t"); got != "appstore:123" {
		t.Errorf("site id: %q", got)
	}
	// Field boundaries matter: ("ab","c") and ("a","bc") differ.
	if StableID("k", "", "ab", "c", "") == StableID("k", "", "a", "bc", "") {
		t.Error("field boundary collision")
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      Mention
		wantErr string
		check   func(*testing.T, Mention)
	}{
		{"defaults", Mention{Text: " hi ", Source: "s"}, "", func(t *testing.T, m Mention) {
			if m.Text != "hi" || m.Kind != KindReview || m.Severity != "none" || !m.CollectedAt.Equal(now) || m.Version == 0 || !strings.HasPrefix(m.ID, "s:h") {
				t.Errorf("%+v", m)
			}
		}},
		{"invalid utf-8 repaired", Mention{Text: "caf\xe9"}, "", func(t *testing.T, m Mention) {
			if m.Text != "caf\uFFFD" {
				t.Errorf("text %q", m.Text)
			}
		}},
		{"huge text cut at a rune", Mention{Text: strings.Repeat("ж", MaxTextBytes)}, "", func(t *testing.T, m Mention) {
			if !m.Truncated || len(m.Text) > MaxTextBytes || !strings.HasSuffix(m.Text, "ж") {
				t.Errorf("truncated=%v len=%d", m.Truncated, len(m.Text))
			}
		}},
		{"rating without max", Mention{Text: "x", Rating: 4}, "", func(t *testing.T, m Mention) {
			if m.RatingMax != 5 {
				t.Errorf("rating_max %v", m.RatingMax)
			}
		}},
		{"empty", Mention{Text: "  "}, "neither text, title nor rating", nil},
		{"rating-only review kept", Mention{Author: "Ana", Rating: 1, RatingMax: 5,
			PublishedAt: time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)}, "", func(t *testing.T, m Mention) {
			if m.ID == "" || m.Rating != 1 {
				t.Errorf("rating-only review: %+v", m)
			}
		}},
		{"bad kind", Mention{Text: "x", Kind: "tweet"}, "kind", nil},
		{"rating above max", Mention{Text: "x", Rating: 6, RatingMax: 5}, "out of range", nil},
		{"rating 8 without max", Mention{Text: "x", Rating: 8}, "without rating_max", nil},
		{"half star without max", Mention{Text: "x", Rating: 3.5}, "", func(t *testing.T, m Mention) {
			if m.RatingMax != 5 {
				t.Errorf("rating_max %v", m.RatingMax)
			}
		}},
		{"odd rating without max keeps no scale", Mention{Text: "x", Rating: 0.3}, "", func(t *testing.T, m Mention) {
			if m.RatingMax != 0 || m.Rating != 0.3 {
				t.Errorf("rating %v/%v", m.Rating, m.RatingMax)
			}
		}},
		{"bad severity", Mention{Text: "x", Score: Score{Severity: "apocalyptic"}}, "severity", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.in
			err := m.Normalize(now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, m)
		})
	}
}

func TestRatingScale(t *testing.T) {
	for _, tt := range []struct {
		rating, max, want float64
		note              string
	}{
		{0, 0, 0, ""},
		{4, 10, 10, ""},
		{4, 0, 5, "read as stars out of 5"},
		{2.5, 0, 5, "read as stars out of 5"},
		{7, 0, 0, "ignored: no rating_max"},
		{4.2, 0, 0, "ignored: no rating_max"},
		{0.5, 0, 0, "ignored: no rating_max"},
		{11, 10, 0, "above its rating_max"},
	} {
		got, note := RatingScale(tt.rating, tt.max)
		if got != tt.want || !strings.Contains(note, tt.note) || (tt.note == "") != (note == "") {
			t.Errorf("RatingScale(%v, %v) = %v, %q; want %v, %q", tt.rating, tt.max, got, note, tt.want, tt.note)
		}
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, s := range []string{"2026-11-02", "2026-11-02T00:00:00Z", "02.11.2026", "11/02/2026", "Nov 2, 2026", "1793577600", "1793577600000", "2026-11-02T01:00:00+01:00"} {
		got, err := ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseTime("yesterday"); err == nil {
		t.Error("yesterday: no error")
	}
}

func FuzzNormalize(f *testing.F) {
	f.Add("text", "title", 4.0, 5.0, "review")
	f.Add("\xff\xfe", "", -1.0, 0.0, "")
	f.Fuzz(func(t *testing.T, text, title string, rating, max float64, kind string) {
		m := Mention{Text: text, Title: title, Rating: rating, RatingMax: max, Kind: kind}
		if err := m.Normalize(now); err != nil {
			return
		}
		if m.ID == "" || len(m.Text) > MaxTextBytes || (m.RatingMax > 0 && m.Rating > m.RatingMax) {
			t.Errorf("normalized mention breaks an invariant: %+v", m)
		}
	})
}

func TestStoryID(t *testing.T) {
	long := "The receptionist was rude and our room was not cleaned for three days."
	a := StoryID("tripadvisor:1", "Ana K.", long)
	b := StoryID("google:9", "ana k", "the receptionist was RUDE, and our room was not cleaned for three days!! ")
	c := StoryID("google:10", "Marko", long)
	short := StoryID("google:11", "Ana K.", "Great!")
	if a != b || !strings.HasPrefix(a, "story:") {
		t.Errorf("same review on two sites: %s vs %s", a, b)
	}
	if a == c {
		t.Error("different authors share a story")
	}
	if short != "google:11" {
		t.Errorf("short text linked: %s", short)
	}
	m := Mention{ID: "x:1", Author: "Ana K.", Text: long}
	if err := m.Normalize(now); err != nil || m.StoryID != a {
		t.Errorf("Normalize story_id = %q, %v", m.StoryID, err)
	}
}

func TestContentIDIgnoresListingPage(t *testing.T) {
	day := time.Date(2024, 2, 5, 0, 0, 0, 0, time.UTC)
	base := ContentID("schemaorg", "example.com", "Hotel Sunrise", "Ana K.", "Staff rude.\nNever again!", day)
	tests := []struct {
		name             string
		host, item, auth string
		text             string
		at               time.Time
		same             bool
	}{
		{"spacing and case", "Example.com", "hotel sunrise", "ana k", "staff rude never   again", day, true},
		{"other author", "example.com", "Hotel Sunrise", "Bo", "Staff rude. Never again!", day, false},
		{"other item", "example.com", "Hotel Dusk", "Ana K.", "Staff rude. Never again!", day, false},
		{"other site", "example.org", "Hotel Sunrise", "Ana K.", "Staff rude. Never again!", day, false},
		{"other day", "example.com", "Hotel Sunrise", "Ana K.", "Staff rude. Never again!", day.AddDate(0, 0, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ContentID("schemaorg", tt.host, tt.item, tt.auth, tt.text, tt.at); (got == base) != tt.same {
				t.Errorf("ContentID = %s, base %s, want same=%v", got, base, tt.same)
			}
		})
	}
}
