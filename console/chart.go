package console

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/sluicemail/sluice/activity"
)

// chart is a line chart of per-minute counts, drawn as inline SVG with
// presentation attributes only (the CSP allows no inline style).
type chart struct {
	ID, Title     string
	Width, Height int
	Left, Bottom  int // the plot area's left and bottom edges
	Top, Right    int
	Max           uint64
	Series        []series
	XLabels       []label
}

type series struct {
	Name   string
	Color  string
	Points string // SVG polyline points
	Total  uint64
}

type label struct {
	X    int
	Text string
}

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

// throughputCharts draws the window's scans by action and by front end
// and learns by source.
func throughputCharts(minutes []activity.Minute) []chart {
	return []chart{
		newChart("by-action", "Scans per minute by action", minutes, func(m activity.Minute) map[string]uint64 { return m.ByAction }),
		newChart("by-frontend", "Scans per minute by front end", minutes, func(m activity.Minute) map[string]uint64 { return m.ByFrontend }),
		newChart("by-source", "Learns per minute by source", minutes, func(m activity.Minute) map[string]uint64 { return m.BySource }),
	}
}

func newChart(id, title string, minutes []activity.Minute, counts func(activity.Minute) map[string]uint64) chart {
	c := chart{ID: id, Title: title, Width: 760, Height: 200, Left: 48, Right: 750, Top: 10, Bottom: 175}
	keys := map[string]bool{}
	for _, m := range minutes {
		for k, v := range counts(m) {
			keys[k] = true
			c.Max = max(c.Max, v)
		}
	}
	scale := max(c.Max, 1)
	n := max(len(minutes)-1, 1)
	x := func(i int) int { return c.Left + i*(c.Right-c.Left)/n }
	for i, k := range slices.Sorted(maps.Keys(keys)) {
		s := series{Name: k, Color: palette[i%len(palette)]}
		var pts strings.Builder
		for j, m := range minutes {
			v := counts(m)[k]
			s.Total += v
			y := c.Bottom - int(v*uint64(c.Bottom-c.Top)/scale)
			fmt.Fprintf(&pts, "%d,%d ", x(j), y)
		}
		s.Points = strings.TrimSpace(pts.String())
		c.Series = append(c.Series, s)
	}
	for j, m := range minutes {
		if t := m.Start.UTC(); t.Minute() == 0 && t.Hour()%3 == 0 {
			c.XLabels = append(c.XLabels, label{X: x(j), Text: t.Format("15:04")})
		}
	}
	return c
}
