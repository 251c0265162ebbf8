package run

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ui/common"
)

// The grouped view of an ad-hoc run (groups.go keeps the groups): one
// row per distinct output, the odd ones first, "web7, web9: No space left
// on device · failed: exit 1" above "38 hosts: ok", and below the rows
// the output of the group under the cursor in full, in the pane of its
// first host (so scrolling, wrap, zoom and the whole line work as in the
// per-host panes). Its key switches to the per-host panes and back,
// keeping the host.

// groupsPref is the operator's choice between groups and per-host panes.
type groupsPref int

const (
	groupsAuto groupsPref = iota // groups when the grid cannot show every host
	groupsOn
	groupsOff
)

// showGroups reports whether the view lists groups of hosts by output:
// for a grouping feed, by default once there are more hosts than the
// grid of panes shows at once.
func (v Model) showGroups() bool {
	if v.zoom || v.feed == nil || !v.feed.Grouped() {
		return false
	}
	switch v.groups {
	case groupsOn:
		return true
	case groupsOff:
		return false
	}
	return len(v.feed.panes) > gridMax
}

// Grouped reports whether the view shows its hosts grouped by output.
func (v Model) Grouped() bool { return v.showGroups() }

// toggleGroups switches between the groups and the per-host panes; the
// focused host stays.
func (v Model) toggleGroups() Model {
	if v.showGroups() {
		v.groups = groupsOff
	} else {
		v.groups = groupsOn
	}
	if v.scrolled {
		v.top = v.bottomTop() // the pane's height changed
	}
	return v
}

// groupHelp is what the group key does now, for the footer.
func (v Model) groupHelp() string {
	if v.showGroups() {
		return "per-host panes"
	}
	return "group by output"
}

// pinned is the view with its cursor on the first group, the worst,
// while the operator has not moved it: live, a failure that comes in
// takes the cursor. The first key or click leaves it where it is.
func (v Model) pinned() Model {
	if v.cursorSet || !v.showGroups() {
		return v
	}
	if groups := v.feed.groupsSnapshot(); len(groups) > 0 && groupOf(groups, v.focus) != 0 {
		v.focus = groups[0].members[0]
		if v.scrolled {
			v.top = v.bottomTop()
		}
	}
	return v
}

// moved is next, the view after an input to v: once the input moved the
// focus, the groups' cursor is the operator's, no longer pinned.
func (v Model) moved(next Model, cmd tea.Cmd) (Model, tea.Cmd) {
	if next.focus != v.pinned().focus {
		next.cursorSet = true
	}
	return next, cmd
}

// groupOf is the index of the group pane i is in (0 when none holds it).
func groupOf(groups []groupSnapshot, i int) int {
	for gi, g := range groups {
		if _, ok := slices.BinarySearch(g.members, i); ok {
			return gi
		}
	}
	return 0
}

// moveGroup moves the cursor delta groups, onto the new group's first host.
func (v Model) moveGroup(delta int) Model {
	groups := v.feed.groupsSnapshot()
	if len(groups) == 0 {
		return v
	}
	i := max(0, min(groupOf(groups, v.focus)+delta, len(groups)-1))
	return v.focusOn(groups[i].members[0])
}

// nextFailedGroup moves the cursor to the next (step 1) or previous
// (step -1) group of failed hosts, round the list.
func (v Model) nextFailedGroup(step int) Model {
	groups := v.feed.groupsSnapshot()
	cur, n := groupOf(groups, v.focus), len(groups)
	for i := 1; i <= n; i++ {
		if j := ((cur+step*i)%n + n) % n; groups[j].failed() {
			return v.focusOn(groups[j].members[0])
		}
	}
	v.note = "no failed host"
	return v
}

// groupStart is the first group listed: the cursor's kept mid-list.
func groupStart(cur, rows, n int) int { return max(0, min(cur-rows/2, n-rows)) }

// clickGroup moves the cursor to the group in row (0: the first row
// drawn), if there is one.
func (v Model) clickGroup(row int, l runLayout) Model {
	groups := v.feed.groupsSnapshot()
	if i := groupStart(groupOf(groups, v.focus), l.groupRows, len(groups)) + row; row >= 0 && row < l.groupRows && i < len(groups) {
		return v.focusOn(groups[i].members[0])
	}
	return v
}

// groupRowsFor is how many rows the groups' list takes out of h lines:
// every group when they fit in a third, the pane below keeps the rest.
func groupRowsFor(groups, h int) int { return max(1, min(groups, h/3)) }

// groupedView draws the groups' heading and rows, then the pane of the
// group under the cursor.
func (v Model) groupedView(snap runSnapshot, l runLayout) string {
	st := v.ctx.Styles
	groups := v.feed.groupsSnapshot()
	cur := groupOf(groups, v.focus)
	var b strings.Builder
	head := fmt.Sprintf("%d %s across %d %s · %s: per-host panes", len(groups), plural(len(groups), "output", "outputs"),
		len(snap.panes), plural(len(snap.panes), "host", "hosts"), keyName(v.keys.Group))
	b.WriteString(st.Muted.Render(common.Clip(head, v.width)) + "\n")
	start := groupStart(cur, l.groupRows, len(groups))
	for i := start; i < start+l.groupRows && i < len(groups); i++ {
		g := groups[i]
		mark := "  "
		if i == cur {
			mark = "> "
		}
		row := common.Clip(mark+v.groupRow(g, snap.panes), v.width)
		switch {
		case i == cur:
			row = st.Cursor.Render(common.PadRight(row, v.width))
		case g.failed():
			row = st.Error.Render(row)
		case g.state == "ok":
			row = st.OK.Render(row)
		case g.overflow:
			row = st.Muted.Render(row)
		default:
			row = st.Warn.Render(row)
		}
		b.WriteString(row + "\n")
	}
	if len(groups) == 0 {
		return b.String()
	}
	g := groups[cur]
	p := snap.panes[v.focus]
	if g.overflow {
		p.name += fmt.Sprintf(" (one of %d hosts whose outputs differ)", len(g.members))
	} else if len(g.members) > 1 {
		p.name = fmt.Sprintf("%d hosts: %s", len(g.members), strings.Join(memberNames(g, snap.panes, 12), ", "))
	}
	return b.String() + v.pane(p, l.paneW, l.paneH, true)
}

// groupRow is a group's row: who, the output's last line (or why the
// hosts failed, when they printed nothing), how many lines, and how the
// hosts ended unless they ended well.
func (v Model) groupRow(g groupSnapshot, panes []paneSnapshot) string {
	first := panes[g.members[0]]
	who := fmt.Sprintf("%d hosts", len(g.members))
	if names := memberNames(g, panes, 3); len(g.members) <= 3 && lipgloss.Width(strings.Join(names, ", ")) <= v.width/2 {
		who = strings.Join(names, ", ")
	}
	if g.overflow {
		return fmt.Sprintf("%s with outputs of their own (more than %d different outputs): %s shows each host",
			who, groupMax, keyName(v.keys.Group))
	}
	what := v.feed.lastLine(g.members[0])
	switch {
	case what == "" && first.err != "" && g.failed():
		what = first.err
	case what == "" && (g.state == "running" || g.state == "waiting"):
		what = "(no output yet)"
	case what == "":
		what = "(no output)"
	}
	var tail []string
	if g.lines > 1 {
		tail = append(tail, fmt.Sprintf("%d lines", g.lines))
	}
	if w := groupWords(g); w != "" {
		tail = append(tail, w)
	}
	end := ""
	if len(tail) > 0 {
		end = " · " + strings.Join(tail, " · ")
	}
	// Too long: the start of the line goes, its end (the reason, "No
	// space left on device") and how the hosts ended stay.
	if avail := v.width - 2 - lipgloss.Width(who+": "+end); lipgloss.Width(what) > avail && avail > 12 {
		what = "…" + ansi.TruncateLeft(what, lipgloss.Width(what)-avail+1, "")
	}
	return who + ": " + what + end
}

// groupWords is how a group's hosts ended in words, "" when they ended
// well (the row's colour is never the only sign).
func groupWords(g groupSnapshot) string {
	switch {
	case g.state == "ok":
		return ""
	case g.failed():
		return "failed: " + g.state
	}
	return g.state
}

// memberNames is the names of a group's first n hosts, then "… N more".
func memberNames(g groupSnapshot, panes []paneSnapshot, n int) []string {
	var out []string
	for i, m := range g.members {
		if i == n {
			out = append(out, fmt.Sprintf("… %d more", len(g.members)-n))
			break
		}
		out = append(out, panes[m].name)
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// keyName is what the help calls b's key, else its first key.
func keyName(b key.Binding) string {
	if k := common.KeyName(b); k != "" {
		return k
	}
	if ks := b.Keys(); len(ks) > 0 {
		return ks[0]
	}
	return "?"
}
