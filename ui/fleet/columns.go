package fleet

import (
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// column is one column of the fleet list. Columns are dropped, highest
// prio first, until the row fits the width; status columns show probe
// figures, and an unreachable host's status columns merge into one cell
// that says why and since when.
type column struct {
	title  string
	width  int // 0: takes what is left (the last column only)
	prio   int
	status bool
	// cell is the column's text for a host and its style; nil is plain
	// (drawn without lipgloss: most cells are, and a frame draws hundreds).
	cell func(v *Model, h inventory.Host, s *hostState) (string, *lipgloss.Style)
}

// fleetColumns returns the columns for names up to nameW and addresses up
// to addrW cells wide.
func fleetColumns(nameW, addrW int, withStatus bool) []column {
	cols := []column{
		{title: "HOST", width: nameW, cell: func(_ *Model, h inventory.Host, _ *hostState) (string, *lipgloss.Style) { return h.Name, nil }},
	}
	if withStatus {
		cols = append(cols,
			column{title: "STATE", width: 8, prio: 1, status: true, cell: stateCell},
			column{title: "RTT", width: 6, prio: 5, status: true, cell: figure(func(p remote.Probe) string { return shortDuration(p.RTT) })},
			column{title: "LOAD", width: 5, prio: 6, status: true, cell: figure(func(p remote.Probe) string { return loadText(p.Load1) })},
			column{title: "MEM", width: 4, prio: 7, status: true, cell: figure(func(p remote.Probe) string { return percent(p.MemUsedPct) })},
			column{title: "DISK", width: 4, prio: 7, status: true, cell: figure(func(p remote.Probe) string { return percent(p.DiskUsedPct) })},
			column{title: "RELEASE", width: 20, prio: 2, status: true, cell: releaseCell},
			column{title: "AGE", width: 4, prio: 4, status: true, cell: figure(func(p remote.Probe) string {
				if p.Release == "" {
					return "-"
				}
				return shortAge(p.ReleaseAge)
			})},
			column{title: "HEALTH", width: 7, prio: 3, status: true, cell: healthCell},
		)
	}
	return append(cols,
		column{title: "ADDRESS", width: addrW, prio: 8, cell: func(_ *Model, h inventory.Host, _ *hostState) (string, *lipgloss.Style) {
			return h.Address, nil
		}},
		column{title: "ROLES", width: 14, prio: 9, cell: func(_ *Model, h inventory.Host, _ *hostState) (string, *lipgloss.Style) {
			return strings.Join(h.Roles, ","), nil
		}},
		column{title: "TAGS", prio: 10, cell: func(_ *Model, h inventory.Host, _ *hostState) (string, *lipgloss.Style) {
			return strings.Join(h.Tags, ","), nil
		}},
	)
}

// fit keeps the columns that fit in width (2 cells for the mark, 1 between
// columns), dropping the least important first.
func fit(cols []column, width int) []column {
	keep := cols
	for {
		w := 2
		for _, c := range keep {
			w += max(c.width, 4) + 1
		}
		if w <= width || len(keep) == 1 {
			return keep
		}
		worst := 0
		for i, c := range keep {
			if c.prio > keep[worst].prio {
				worst = i
			}
		}
		keep = append(keep[:worst:worst], keep[worst+1:]...)
	}
}

// figure is a status cell that shows f of the newest reachable probe,
// muted when that probe is stale.
func figure(f func(remote.Probe) string) func(*Model, inventory.Host, *hostState) (string, *lipgloss.Style) {
	return func(v *Model, _ inventory.Host, s *hostState) (string, *lipgloss.Style) {
		if s == nil || s.lastUp.At.IsZero() {
			return "", nil
		}
		if _, stale := v.status.stale(s); stale {
			return f(s.lastUp), &v.ctx.Styles.Muted
		}
		return f(s.lastUp), nil
	}
}

func stateCell(v *Model, h inventory.Host, s *hostState) (string, *lipgloss.Style) {
	st := &v.ctx.Styles
	switch {
	case s == nil:
		return "…", &st.Muted
	case !s.probe.Reachable:
		return "down", &st.Error
	}
	if age, stale := v.status.stale(s); stale {
		return "stale " + shortAge(age), &st.Warn
	}
	if len(v.status.drained[h.Name]) > 0 {
		return "drained", &st.Warn // up, but a balancer sends it nothing
	}
	return "up", &st.OK
}

func releaseCell(v *Model, h inventory.Host, s *hostState) (string, *lipgloss.Style) {
	if s == nil || s.lastUp.At.IsZero() {
		return "", nil
	}
	rel := s.lastUp.Release
	if rel == "" {
		rel = "-"
	}
	if v.status.drift[h.Name] {
		return rel + " drift", &v.ctx.Styles.Warn
	}
	return rel, nil
}

func healthCell(v *Model, _ inventory.Host, s *hostState) (string, *lipgloss.Style) {
	st := &v.ctx.Styles
	if s == nil || s.lastUp.At.IsZero() {
		return "", &st.Muted
	}
	switch s.lastUp.Health {
	case remote.HealthOK:
		return "ok", &st.OK
	case remote.HealthFailed:
		return "failed", &st.Error
	case remote.HealthUnknown:
		return "unknown", &st.Warn
	}
	return "-", &st.Muted
}

// downText says why a host is unreachable and since when.
func downText(v *Model, s *hostState) string {
	class := string(s.probe.Class)
	if class == "" {
		class = "error"
	}
	return class + " since " + sinceText(s.downSince, v.status.now())
}

// renderRow draws one host row, its cells in their status colours when
// styled; the cursor row is reversed cell by cell, so that it keeps them
// (a red STATE stays red under the cursor).
func (v *Model) renderRow(cols []column, mark string, h inventory.Host, styled, cursor bool) string {
	s := v.status.state(h.Name)
	var b strings.Builder
	paint := func(text string, style *lipgloss.Style) string {
		switch {
		case cursor && styled && style != nil:
			return v.paint.Paint(style, true, text)
		case cursor:
			return v.paint.Paint(v.plain, true, text)
		case styled && style != nil:
			return v.paint.Paint(style, false, text)
		}
		return text
	}
	var markStyle *lipgloss.Style
	if cursor {
		markStyle = v.bold
	}
	b.WriteString(paint(common.PadRight(mark, 2), markStyle))
	for i := 0; i < len(cols); i++ {
		c := cols[i]
		if c.status && s != nil && !s.probe.Reachable && cols[i].title != "STATE" {
			// Merge this and the following status columns into one cell.
			w := -1
			for ; i < len(cols) && cols[i].status; i++ {
				w += max(cols[i].width, 4) + 1
			}
			i--
			text := common.PadRight(common.Clip(downText(v, s), w), w)
			b.WriteString(paint(text, &v.ctx.Styles.Error) + paint(" ", nil))
			continue
		}
		text, style := c.cell(v, h, s)
		if c.width == 0 {
			b.WriteString(paint(text, style))
			break
		}
		w := max(c.width, 4)
		text = common.PadRight(common.Clip(text, w), w)
		b.WriteString(paint(text, style) + paint(" ", nil))
	}
	if cursor {
		return b.String()
	}
	return strings.TrimRight(b.String(), " ")
}

// renderHeader draws the column titles.
func renderHeader(cols []column) string {
	var b strings.Builder
	b.WriteString("  ")
	for _, c := range cols {
		if c.width == 0 {
			b.WriteString(c.title)
			break
		}
		b.WriteString(common.PadRight(c.title, max(c.width, 4)) + " ")
	}
	return strings.TrimRight(b.String(), " ")
}
