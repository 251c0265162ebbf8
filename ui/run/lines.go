package run

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// Long lines in a pane — the health check's "answered HTTP 500: ...", a
// switch's "current: old -> new" — are cut to the pane by default; w wraps
// them, ←/→ shift them, + gives the focused pane the whole view and v shows
// its selected line in full below the output: the newest line while the
// pane follows (a failed host's reason), the top line when paused.

// shiftStep is how many columns ←/→ move the lines.
const shiftStep = 16

// modeText says, in the focused pane's title, how it shows its lines.
func (v Model) modeText() string {
	var parts []string
	if v.scrolled {
		parts = append(parts, "paused (f follows)")
	}
	if v.zoom {
		parts = append(parts, "zoomed (+ back)")
	}
	if v.wrap {
		parts = append(parts, "wrap")
	} else if v.hoff > 0 {
		parts = append(parts, fmt.Sprintf("from column %d", v.hoff+1))
	}
	if len(parts) == 0 {
		return ""
	}
	return " · " + strings.Join(parts, " · ")
}

// paneRows turns a pane's lines into the rows of its inner width w, at
// most n: cut (after shifting, on the focused pane) or wrapped, the last
// ones while the pane follows, the first ones from its top when paused.
// The focused pane with v on ends with its selected line in full.
func (v Model) paneRows(lines []string, w, n int, focused bool) []string {
	var whole []string
	if focused && v.whole && len(lines) > 0 {
		sel := lines[len(lines)-1] // following: the newest line
		if v.scrolled {
			sel = lines[0] // paused: the top line, which scrolling moves
		}
		whole = append([]string{v.ctx.Styles.Muted.Render(strings.Repeat("─", w))},
			strings.Split(ansi.Hardwrap(sel, w, true), "\n")...)
		if len(whole) > n-1 {
			whole = whole[:max(1, n-1)] // at least one row of output stays
		}
		n = max(1, n-len(whole))
	}
	var rows []string
	for _, l := range lines {
		switch {
		case v.wrap && lipgloss.Width(l) > w:
			rows = append(rows, strings.Split(ansi.Hardwrap(l, w, true), "\n")...)
		case focused && v.hoff > 0:
			rows = append(rows, clipRow(ansi.Cut(l, v.hoff, v.hoff+w+1), w))
		default:
			rows = append(rows, clipRow(l, w))
		}
	}
	if len(rows) > n {
		if focused && v.scrolled {
			rows = rows[:n]
		} else {
			rows = rows[len(rows)-n:]
		}
	}
	return append(rows, whole...)
}

// clipRow cuts a (possibly styled) line to w cells, marking the cut.
func clipRow(s string, w int) string {
	if lipgloss.Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// lineKey handles the keys of long lines, reporting whether km was one.
// It works on v in place: key's switch goes on with the changed view.
func (v *Model) lineKey(km tea.KeyPressMsg) bool {
	switch {
	case key.Matches(km, v.keys.Wrap):
		v.wrap, v.hoff = !v.wrap, 0
	case key.Matches(km, v.keys.Zoom):
		v.zoom = !v.zoom
		if v.scrolled {
			v.top = v.bottomTop() // the pane's height changed
		}
	case v.zoom && key.Matches(km, v.keys.Back):
		v.zoom = false
	case key.Matches(km, v.keys.Whole):
		v.whole = !v.whole
	case key.Matches(km, v.keys.Left), key.Matches(km, v.keys.Right):
		if v.wrap {
			v.note = "lines are wrapped: w cuts them again, then ←/→ scroll sideways"
			return true
		}
		if key.Matches(km, v.keys.Left) {
			v.hoff = max(0, v.hoff-shiftStep)
		} else {
			v.hoff = min(v.hoff+shiftStep, maxShift)
		}
	default:
		return false
	}
	return true
}

// maxShift bounds the sideways scroll (a pane's lines are capped far
// below it).
const maxShift = 1 << 16
