package view

import (
	"strconv"
	"strings"
)

// Charts are SVG drawn on the server (chart.templ): no script, no inline
// style; colours come from CSS classes (static/overview.css). Each chart has
// a <title> and <desc>, writes its values as text next to the marks, and
// repeats them in a table, so nothing is told by colour or the picture alone.

// BarChart is a horizontal bar chart with one bar per category.
type BarChart struct {
	ID    string // unique on the page: prefixes the ids of the chart's parts
	Title string
	// Label heads the table's category column ("Exposure").
	Label string
	Bars  []Bar
}

// Bar is one category of a BarChart.
type Bar struct {
	Label string
	Value int
	Class string // the CSS class that colours the bar ("bar-exposed")
	Href  string // where the table links the value; empty: no link
}

// LineChart is a line chart of a few series over the same points, oldest
// first (the evaluations of a tenant).
type LineChart struct {
	ID     string
	Title  string
	Label  string   // heads the table's point column ("Evaluation")
	Points []string // one label per point
	Series []Series
}

// Series is one line of a LineChart, a value per point.
type Series struct {
	Name   string
	Class  string // suffix of the CSS classes of its line and points ("exposed")
	Values []int
}

// Geometry of the drawings, in viewBox units (they scale with the page).
const (
	barChartWidth = 480
	barLabelWidth = 130 // category labels, right-aligned before the bars
	barMaxWidth   = 270 // the longest bar; its value is written after it
	barRowHeight  = 30
	barThickness  = 18

	lineWidth  = 560
	lineHeight = 220
	lineLeft   = 52 // room for the value axis
	lineRight  = 16
	lineTop    = 14
	lineBottom = 30 // room for the point labels
)

// Description sums up a bar chart in one sentence, for its <desc>.
func (c BarChart) Description() string {
	parts := make([]string, len(c.Bars))
	for i, b := range c.Bars {
		parts[i] = b.Label + ": " + FormatCount(b.Value)
	}
	return c.Title + ". " + strings.Join(parts, "; ") + "."
}

func (c BarChart) height() int { return len(c.Bars)*barRowHeight + 8 }

func (c BarChart) viewBox() string {
	return "0 0 " + strconv.Itoa(barChartWidth) + " " + strconv.Itoa(c.height())
}

// barMark is where one bar and its texts are drawn.
type barMark struct {
	Bar
	LabelX, X, Y, TextY, Width, Height, ValueX string
}

func (c BarChart) marks() []barMark {
	top := 0
	for _, b := range c.Bars {
		top = max(top, b.Value)
	}
	out := make([]barMark, len(c.Bars))
	for i, b := range c.Bars {
		w := 0
		if top > 0 && b.Value > 0 {
			w = max(1, b.Value*barMaxWidth/top) // a non-zero value stays visible
		}
		y := 4 + i*barRowHeight + (barRowHeight-barThickness)/2
		out[i] = barMark{Bar: b,
			LabelX: strconv.Itoa(barLabelWidth),
			X:      strconv.Itoa(barLabelWidth + 10),
			Y:      strconv.Itoa(y),
			TextY:  strconv.Itoa(y + barThickness/2 + 4),
			Width:  strconv.Itoa(w),
			Height: strconv.Itoa(barThickness),
			ValueX: strconv.Itoa(barLabelWidth + 10 + w + 6),
		}
	}
	return out
}

// Description sums up a line chart in one sentence, for its <desc>.
func (c LineChart) Description() string { return c.Title + ". " + c.Summary() }

// Summary says in words what a line chart draws: first and last values.
func (c LineChart) Summary() string {
	n := len(c.Points)
	if n == 0 {
		return "No data yet."
	}
	var parts []string
	for _, s := range c.Series {
		if n == 1 {
			parts = append(parts, s.Name+" "+FormatCount(s.Values[0]))
		} else {
			parts = append(parts, s.Name+" from "+FormatCount(s.Values[0])+" to "+FormatCount(s.Values[n-1]))
		}
	}
	if n == 1 {
		return "One point so far (" + c.Points[0] + "): " + strings.Join(parts, "; ") + "."
	}
	return FormatCount(n) + " points from " + c.Points[0] + " to " + c.Points[n-1] + ": " + strings.Join(parts, "; ") + "."
}

func (c LineChart) viewBox() string {
	return "0 0 " + strconv.Itoa(lineWidth) + " " + strconv.Itoa(lineHeight)
}

// scale returns the value at the top of the chart and the step between
// gridlines: round numbers, with at most four steps.
func (c LineChart) scale() (top, step int) {
	for _, s := range c.Series {
		for _, v := range s.Values {
			top = max(top, v)
		}
	}
	step = niceStep((top + 3) / 4)
	return step * max(1, (top+step-1)/step), step
}

// niceStep rounds n up to 1, 2 or 5 times a power of ten.
func niceStep(n int) int {
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

func (c LineChart) x(i int) int {
	w := lineWidth - lineLeft - lineRight
	if len(c.Points) <= 1 {
		return lineLeft + w/2
	}
	return lineLeft + i*w/(len(c.Points)-1)
}

func (c LineChart) y(v, top int) int {
	h := lineHeight - lineTop - lineBottom
	return lineTop + h - v*h/top
}

// lineTick is a horizontal gridline with its value.
type lineTick struct{ X1, X2, Y, TextX, TextY, Label string }

func (c LineChart) ticks() []lineTick {
	top, step := c.scale()
	var out []lineTick
	for v := 0; v <= top; v += step {
		y := c.y(v, top)
		out = append(out, lineTick{X1: strconv.Itoa(lineLeft), X2: strconv.Itoa(lineWidth - lineRight),
			Y: strconv.Itoa(y), TextX: strconv.Itoa(lineLeft - 6), TextY: strconv.Itoa(y + 4), Label: FormatCount(v)})
	}
	return out
}

// lineLabel is a point label under the chart.
type lineLabel struct{ X, Y, Anchor, Label string }

// labels spreads at most six point labels under the chart, always the first
// and the last.
func (c LineChart) labels() []lineLabel {
	n := len(c.Points)
	every := max(1, (n+5)/6)
	var out []lineLabel
	y := strconv.Itoa(lineHeight - lineBottom + 20)
	add := func(i int) {
		anchor := "middle" // the first and last labels stay inside the chart
		switch {
		case n == 1:
		case i == 0:
			anchor = "start"
		case i == n-1:
			anchor = "end"
		}
		out = append(out, lineLabel{X: strconv.Itoa(c.x(i)), Y: y, Anchor: anchor, Label: c.Points[i]})
	}
	for i := 0; i < n-1; i += every {
		if i == 0 || n-1-i >= every {
			add(i)
		}
	}
	if n > 0 {
		add(n - 1)
	}
	return out
}

// linePoint is one marker of a series.
type linePoint struct{ X, Y, Title string }

// seriesMarks is one series as drawn: its polyline and its markers.
type seriesMarks struct {
	Series
	Polyline string
	Marks    []linePoint
}

func (c LineChart) marks() []seriesMarks {
	top, _ := c.scale()
	out := make([]seriesMarks, len(c.Series))
	for si, s := range c.Series {
		m := seriesMarks{Series: s}
		var pts []string
		for i, v := range s.Values {
			x, y := strconv.Itoa(c.x(i)), strconv.Itoa(c.y(v, top))
			pts = append(pts, x+","+y)
			m.Marks = append(m.Marks, linePoint{X: x, Y: y, Title: c.Points[i] + ": " + s.Name + " " + FormatCount(v)})
		}
		m.Polyline = strings.Join(pts, " ")
		out[si] = m
	}
	return out
}

// FormatCount writes a count with thousands separators: 125,000.
func FormatCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
