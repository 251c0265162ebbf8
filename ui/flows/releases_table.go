package flows

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
)

// The releases table: the release id with its short commit and ref stays
// on the left; the other columns follow by importance, as many as fit, and
// ←/→ scroll through the rest. A cell never spills into the next column.

// relColumn is one column of the releases table after the release.
type relColumn struct {
	title string
	width int // 0: what is left (the last column)
	right bool
	cell  func(r store.Release) string
}

// relColumns are the columns after RELEASE, most important first.
var relColumns = []relColumn{
	{title: "RESULT", width: 11, cell: func(r store.Release) string { return r.Result.Words() }},
	{title: "LIVE", width: 4, right: true, cell: liveOn},
	{title: "WHEN", width: 12, cell: func(r store.Release) string { return r.StartedAt.Time().Local().Format("Jan _2 15:04") }},
	{title: "OPERATOR", width: 10, cell: func(r store.Release) string { return r.Operator }},
	{title: "KIND", width: 8, cell: func(r store.Release) string { return r.Kind }},
	{title: "TOOK", width: 7, right: true, cell: func(r store.Release) string {
		if r.Took() > 0 {
			return common.Elapsed(r.Took())
		}
		return "…"
	}},
	{title: "SUBJECT", cell: func(r store.Release) string { return r.Subject }},
}

// liveOn is how many hosts run the release now: a release switched back
// everywhere is live on none (its RESULT says why).
func liveOn(r store.Release) string {
	n := len(r.HostList())
	if n == 0 && r.Result != store.ReleaseRunning {
		return "none"
	}
	return fmt.Sprint(n)
}

// relRefW is how much of the ref the RELEASE column shows.
const relRefW = 8

// releaseCell is the frozen column: the release id, its short commit (as
// the CLI writes it) and its ref ("20261204231800 edc515f805d2 main").
func releaseCell(r store.Release) string {
	return fmt.Sprintf("%-14s %s %s", r.ReleaseID, deploy.ShortCommit(r.Commit), common.Clip(orDash(r.Branch), relRefW))
}

// relReleaseW is the frozen column's width.
const relReleaseW = 14 + 1 + 12 + 1 + relRefW

// relTable lays out the columns from col on for width w: the header and a
// function that draws a release's row (without its cursor and mark).
func relTable(col, w int) (header string, row func(store.Release) string, more string) {
	col = max(0, min(col, len(relColumns)-1))
	avail := w - 3 - relReleaseW // cursor, mark, space
	var cols []relColumn
	for _, c := range relColumns[col:] {
		cw := c.width
		if cw == 0 {
			cw = max(0, avail-1)
			if cw < 10 {
				break
			}
		}
		if avail < cw+1 {
			break
		}
		c.width = cw
		cols = append(cols, c)
		avail -= cw + 1
	}
	cell := func(s string, c relColumn) string {
		s = common.Clip(s, c.width)
		if c.right {
			return strings.Repeat(" ", max(0, c.width-lipgloss.Width(s))) + s
		}
		return common.PadRight(s, c.width)
	}
	titles := []string{common.PadRight("RELEASE COMMIT REF", relReleaseW)}
	for _, c := range cols {
		titles = append(titles, cell(c.title, c))
	}
	if col > 0 {
		more = "← "
	}
	if shown := col + len(cols); shown < len(relColumns) {
		more += fmt.Sprintf("%d more →", len(relColumns)-shown)
	} else if col > 0 {
		more += "more"
	}
	row = func(r store.Release) string {
		parts := []string{common.PadRight(common.Clip(releaseCell(r), relReleaseW), relReleaseW)}
		for _, c := range cols {
			parts = append(parts, cell(c.cell(r), c))
		}
		return strings.TrimRight(strings.Join(parts, " "), " ")
	}
	return "   " + strings.Join(titles, " "), row, more
}
