package fleet

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// Folding groups: at 2 000 hosts the list is mostly other groups' rows; a
// folded group is one line that still says how its hosts stand, so that a
// down host or a selection is never hidden by folding.

// toggleGroup folds the focused host's group, or opens the folded group
// under the cursor.
func (v *Model) toggleGroup() {
	if v.cursor >= len(v.rows) {
		return
	}
	r := v.rows[v.cursor]
	if r.collapsed {
		delete(v.collapsed, r.group)
		v.openAt(r.group)
		return
	}
	k := rowGroup(r)
	v.collapsed[k] = true
	v.Rebuild()
	v.focusGroup(k)
}

// toggleAll folds every group, or opens them all when every group shown
// is folded already.
func (v *Model) toggleAll() {
	at := ""
	if v.cursor < len(v.rows) {
		at = rowGroup(v.rows[v.cursor])
	}
	allFolded := true
	for _, r := range v.rows {
		if r.heading != "" && !r.collapsed {
			allFolded = false
			break
		}
	}
	if allFolded {
		clear(v.collapsed)
		v.openAt(at)
		return
	}
	for _, h := range v.fleet.Hosts {
		v.collapsed[groupKey(h)] = true
	}
	v.Rebuild()
	v.focusGroup(at)
}

// rowGroup is the key of r's group: a heading's own, a host's.
func rowGroup(r row) string {
	if r.heading != "" {
		return r.group
	}
	return groupKey(r.host)
}

// openAt rebuilds the list with group open and the cursor on its first
// host.
func (v *Model) openAt(group string) {
	v.Rebuild()
	for i, r := range v.rows {
		if r.group == group && r.heading != "" && i+1 < len(v.rows) {
			v.cursor = i + 1
			v.move(0)
			return
		}
	}
}

// focusGroup puts the cursor on group's heading when it is folded; else
// on a host as near as there is.
func (v *Model) focusGroup(group string) {
	for i, r := range v.rows {
		if r.collapsed && r.group == group {
			v.cursor = i
			v.scroll()
			return
		}
	}
	v.move(0)
}

// foldedHeading draws a folded group's line: its heading and how its
// hosts stand ("production · web · 400 (3 down, 1 failing)"), counted
// when drawn so that it follows every probe.
func (v *Model) foldedHeading(r row, cursor bool) string {
	st := v.ctx.Styles
	text := "▸ " + r.heading
	if c := v.foldedCounts(r); c != "" {
		text += " (" + c + ")"
	}
	if !cursor {
		return st.Group.Render(common.Clip(" "+text, v.width))
	}
	// ">" marks the cursor without colour too (NO_COLOR).
	text = common.Clip(">"+text, v.width)
	return st.Cursor.Render(text + strings.Repeat(" ", max(0, v.width-lipgloss.Width(text))))
}

// foldedCounts says how many of r's hosts are down, failing their health
// check, drifting or selected; "" when none is.
func (v *Model) foldedCounts(r row) string {
	var down, failing, drift, selected int
	for _, h := range r.members {
		if v.selected[h.Name] {
			selected++
		}
		s := v.status.state(h.Name) // nil when never probed, or no board
		if s == nil {
			continue
		}
		if v.status.drift[h.Name] {
			drift++
		}
		switch {
		case !s.probe.Reachable:
			down++
		case s.probe.Health == remote.HealthFailed:
			failing++
		}
	}
	var parts []string
	for _, p := range []struct {
		n    int
		word string
	}{{down, "down"}, {failing, "failing"}, {drift, "drift"}, {selected, "selected"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	return strings.Join(parts, ", ")
}
