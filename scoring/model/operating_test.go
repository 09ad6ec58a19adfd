package model

import (
	"maps"
	"testing"
)

func TestOperatingPoints(t *testing.T) {
	flat := [nThresholds]float64{.70, .72, .74, .75, .74, .72, .70, .68, .66}
	for _, tc := range []struct {
		name   string
		curves map[string][nThresholds]float64
		shared float64
		per    map[string]float64
	}{
		{"one language: its best point, no override",
			map[string][nThresholds]float64{"en": flat}, 0.35, nil},
		{"a language whose F1 peaks higher by a clear margin gets its own point",
			map[string][nThresholds]float64{"en": flat, "id": flat, "tl": flat, "ar": {.60, .62, .64, .66, .66, .74, .78, .78, .77}},
			0.35, map[string]float64{"ar": 0.55}},
		{"a lone spike is noise: judged with its neighbours it does not beat the shared point",
			map[string][nThresholds]float64{"en": flat, "id": flat, "ru": {.70, .72, .74, .75, .74, .72, .70, .79, .66}},
			0.35, nil},
		{"a peak within MinThresholdGain of the shared point is no override",
			map[string][nThresholds]float64{"en": flat, "id": flat, "hi": {.70, .72, .74, .75, .75, .754, .75, .68, .66}},
			0.35, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared, per, chosen := operatingPoints(tc.curves)
			if shared != tc.shared || !maps.Equal(per, tc.per) {
				t.Fatalf("got shared %v per %v, want %v %v", shared, per, tc.shared, tc.per)
			}
			for l := range tc.curves {
				want := thresholdIndex(shared)
				if p, ok := per[l]; ok {
					want = thresholdIndex(p)
				}
				if chosen[l] != want {
					t.Errorf("%s: chosen index %d, want %d", l, chosen[l], want)
				}
			}
		})
	}
}

func TestOperatingPointFallback(t *testing.T) {
	m := newModel(Meta{Threshold: 0.3, Thresholds: map[string]float64{"ar": 0.45}})
	for lang, want := range map[string]float64{"ar": 0.45, "en": 0.3, "": 0.3} {
		if got := m.OperatingPoint(lang); got != want {
			t.Errorf("OperatingPoint(%q) = %v, want %v", lang, got, want)
		}
	}
	if got := newModel(Meta{}).OperatingPoint("en"); got != 0.5 {
		t.Errorf("no threshold recorded: %v, want 0.5", got)
	}
}

// TestLangWords: with LangWords a word gets a second, language-bound
// feature, so "no" in Spanish and "no" in English hash apart; without it
// the text's features do not depend on the language but for the one
// language feature.
func TestLangWords(t *testing.T) {
	f := DefaultFeatures
	f.CharMax = 0
	idx := func(f Features, lang string) map[uint32]bool {
		fs, _ := f.extract("no good", lang, nil, nil)
		out := map[uint32]bool{}
		for _, x := range fs {
			if x.unit != langUnit {
				out[x.idx] = true
			}
		}
		return out
	}
	f.LangWords = false
	if a, b := idx(f, "en"), idx(f, "es"); !maps.Equal(a, b) {
		t.Fatalf("without LangWords the word features differ by language: %v %v", a, b)
	}
	f.LangWords = true
	en, es := idx(f, "en"), idx(f, "es")
	shared := 0
	for k := range en {
		if es[k] {
			shared++
		}
	}
	// 2 words + 1 pair shared, the same 3 again per language.
	if len(en) != 6 || shared != 3 {
		t.Fatalf("LangWords: %d features, %d shared across languages; want 6 and 3", len(en), shared)
	}
}
