package web

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"

	"github.com/earshot/earshot/storage"
)

// chartSVG draws a trend as inline SVG, server-side: a line per location
// for the weekly share, grouped horizontal bars for the others. All text
// is escaped (brands, locations and aspects come from collected data).
func chartSVG(t storage.Trend) template.HTML {
	if len(t.Rows) == 0 {
		return template.HTML(`<p class="empty">No data in this range.</p>`)
	}
	switch t.Name {
	case "weekly_negative_share":
		return lineSVG(t, 2, true)
	case "locations":
		return barsSVG(t, []int{3}, true)
	case "response_times":
		return barsSVG(t, []int{2, 3, 5, 6}, false)
	case "top_aspects", "volume_by_source", "volume_by_language":
		return barsSVG(t, []int{0, 1}, false)
	}
	return barsSVG(t, []int{0}, false)
}

var palette = []string{"#2563eb", "#f97316", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#ca8a04", "#db2777"}

func esc(s string) string { return html.EscapeString(s) }

func fmtValue(v float64, share bool) string {
	if share {
		return fmt.Sprintf("%.0f%%", 100*v)
	}
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func barsSVG(t storage.Trend, series []int, share bool) template.HTML {
	rows := t.Rows
	if len(rows) > 20 {
		rows = rows[:20]
	}
	const w, labelW, barH, gap = 640, 200, 12, 8
	groupH := barH*len(series) + gap
	h := groupH*len(rows) + 12 + 18*((len(series)+1)/2)
	top := 0.0
	for _, r := range rows {
		for _, i := range series {
			top = max(top, r.Values[i])
		}
	}
	if top == 0 {
		top = 1
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h, esc(t.Title))
	for ri, r := range rows {
		y := ri * groupH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" class="label">%s</text>`, labelW-6, y+barH*len(series)/2+4,
			esc(excerpt(strings.Join(r.Keys, " · "), 32)))
		for si, i := range series {
			bw := float64(w-labelW-60) * r.Values[i] / top
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s %s: %s</title></rect>`,
				labelW, y+si*barH, bw, barH-2, palette[si%len(palette)], esc(strings.Join(r.Keys, " · ")), esc(t.Values[i]), fmtValue(r.Values[i], share))
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" class="value">%s</text>`, float64(labelW)+bw+4, y+si*barH+barH-3, fmtValue(r.Values[i], share))
		}
	}
	// The legend wraps after two entries so that four series (response
	// times) stay inside the 640-wide box.
	y := len(rows)*groupH + 14
	for si, i := range series {
		lx, ly := labelW+(si%2)*190, y+(si/2)*18
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="label">%s</text>`,
			lx, ly, palette[si%len(palette)], lx+14, ly+9, esc(t.Values[i]))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// lineSVG draws value v of each series (all keys but the first, the x
// axis) over the x values (the first key).
func lineSVG(t storage.Trend, v int, share bool) template.HTML {
	var xs []string
	series := map[string]map[string]float64{}
	var names []string
	for _, r := range t.Rows {
		x, name := r.Keys[0], strings.Join(r.Keys[1:], " · ")
		if !slices.Contains(xs, x) {
			xs = append(xs, x)
		}
		if series[name] == nil {
			series[name] = map[string]float64{}
			names = append(names, name)
		}
		series[name][x] = r.Values[v]
	}
	slices.Sort(xs)
	if len(names) > len(palette) {
		names = names[:len(palette)]
	}
	const w, h, left, bottom, top = 640, 240, 40, 40, 10
	maxV := 0.0
	for _, n := range names {
		for _, y := range series[n] {
			maxV = max(maxV, y)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	px := func(i int) float64 {
		if len(xs) == 1 {
			return left + float64(w-left-10)/2
		}
		return left + float64(i)*float64(w-left-10)/float64(len(xs)-1)
	}
	py := func(y float64) float64 { return top + float64(h-top-bottom)*(1-y/maxV) }
	var b strings.Builder
	legend := 18 * ((len(names) + 2) / 3)
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-label="%s">`, w, h+legend, esc(t.Title))
	for _, f := range []float64{0, 0.5, 1} {
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" text-anchor="end" class="label">%s</text>`,
			left, w-10, py(f*maxV), py(f*maxV), left-4, py(f*maxV)+4, fmtValue(f*maxV, share))
	}
	for i, x := range xs {
		if len(xs) <= 8 || i%((len(xs)+7)/8) == 0 {
			// The end labels anchor inwards so that dates are not cut at the edges.
			anchor := "middle"
			switch {
			case len(xs) > 1 && i == 0:
				anchor = "start"
			case len(xs) > 1 && i == len(xs)-1:
				anchor = "end"
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s" class="label">%s</text>`, px(i), h-bottom+16, anchor, esc(x))
		}
	}
	for si, n := range names {
		var pts []string
		for i, x := range xs {
			if y, ok := series[n][x]; ok {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", px(i), py(y)))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s %s: %s</title></circle>`, px(i), py(y),
					palette[si], esc(n), esc(x), fmtValue(y, share))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`, strings.Join(pts, " "), palette[si])
		lx, ly := left+(si%3)*200, h+(si/3)*18
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" class="label">%s</text>`,
			lx, ly, palette[si], lx+14, ly+9, esc(excerpt(n, 28)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
