package alerts

import (
	"bytes"
	"fmt"
	"math"

	chart "github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/earshot/earshot/caselog"
)

// chartRed is the bars' colour: the negative mentions.
var chartRed = drawing.Color{R: 0xcc, G: 0x33, B: 0x33, A: 0xff}

// TrendChart renders negative mentions per bucket as a PNG bar chart
// (wcharczuk/go-chart: pure Go, about 12 ms and 15 KB for 14 bars). Labels
// are dates only: the embedded font (Roboto) has Latin glyphs only, so
// brand and location names stay in the text around the chart.
func TrendChart(title string, series []caselog.Bucket, weekly bool) ([]byte, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("trend chart: no data")
	}
	bars := make([]chart.Value, len(series))
	top := 0
	for i, b := range series {
		label := b.Start.Format("Jan 2")
		if !weekly {
			label = b.Start.Format("Mon 2")
		}
		bars[i] = chart.Value{Label: label, Value: float64(b.Negative),
			Style: chart.Style{FillColor: chartRed, StrokeColor: chartRed, StrokeWidth: 1}}
		top = max(top, b.Negative)
	}
	// go-chart refuses a zero-height range (a quiet fortnight): give it one,
	// and whole-number ticks.
	tk := ticks(float64(max(top, 4)))
	yMax := tk[len(tk)-1].Value
	c := chart.BarChart{
		Title:      title,
		TitleStyle: chart.Style{FontSize: 11},
		Width:      max(480, 40*len(series)+80),
		Height:     260,
		BarWidth:   min(36, max(8, 400/len(series))),
		Background: chart.Style{Padding: chart.Box{Top: 36, Left: 12, Right: 12, Bottom: 12}},
		XAxis:      chart.Style{FontSize: 8},
		YAxis: chart.YAxis{
			Range:          &chart.ContinuousRange{Min: 0, Max: yMax},
			ValueFormatter: func(v any) string { return fmt.Sprintf("%.0f", v) },
			Ticks:          tk,
		},
		Bars: bars,
	}
	var buf bytes.Buffer
	if err := c.Render(chart.PNG, &buf); err != nil {
		return nil, fmt.Errorf("trend chart: %w", err)
	}
	return buf.Bytes(), nil
}

// ticks are at most six whole-number ticks from 0 to at least top, in
// steps of 1, 2 or 5 times a power of ten.
func ticks(top float64) []chart.Tick {
	step := 1.0
	for k := 1; top/step > 5; k++ {
		step = []float64{1, 2, 5}[k%3] * math.Pow(10, float64(k/3))
	}
	var out []chart.Tick
	for v := 0.0; ; v += step {
		out = append(out, chart.Tick{Value: v, Label: fmt.Sprintf("%.0f", v)})
		if v >= top {
			return out
		}
	}
}
