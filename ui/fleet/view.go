// Package fleet is the console's fleet view: the hosts grouped by
// environment and role with a filter and a selection, the status board
// their rows and the filter read (each host's newest probe, drift,
// drained backends), and the detail pane beside them.
package fleet

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
)

// roleOrder is how role groups are ordered inside an environment; custom
// roles follow in alphabetical order.
var roleOrder = []string{"lb", "web", "app", "worker", "db", "cache"}

// row is one line of the fleet list: a group heading or a host.
type row struct {
	heading string // set for group lines
	host    inventory.Host
	// group and members are a heading's group key and hosts (those the
	// filter passes); collapsed: its hosts are folded under it, and the
	// cursor can rest on it.
	group     string
	members   []inventory.Host
	collapsed bool
}

// stop reports whether the cursor can rest on the row: a host, or a
// folded group.
func (r row) stop() bool { return r.heading == "" || r.collapsed }

// Model lists the hosts grouped by environment and role, with a filter
// and a selection. It renders only the rows that fit.
type Model struct {
	ctx      *common.Context
	keys     KeyMap
	fleet    *inventory.Fleet
	rows     []row
	cursor   int // index into rows; always on a host row when there is one
	offset   int // first row drawn
	height   int
	width    int
	selected map[string]bool
	filter   textinput.Model
	// filtering is set while the filter input has focus.
	filtering bool
	// status is the probe results the rows show and the filter matches.
	status *Board
	// nameW and addrW are the widths of the HOST and ADDRESS columns,
	// measured once per Rebuild, not per frame.
	nameW, addrW int
	// collapsed holds the folded groups' keys (env\x00role); they stay
	// folded across filters and reloads.
	collapsed map[string]bool
	// paint draws the rows' cells; plain and bold are the cursor row's
	// styles (reversed), kept here so that paint knows them by address.
	paint       *common.Painter
	plain, bold *lipgloss.Style
}

// New is an empty list (SetFleet fills it) whose rows show status.
func New(ctx *common.Context, keys KeyMap, status *Board) Model {
	ti := textinput.New()
	ti.Prompt = "/"
	ti.Placeholder = "name, role, tag, env or up/down/drift/failed"
	return Model{ctx: ctx, keys: keys, fleet: &inventory.Fleet{}, selected: map[string]bool{}, collapsed: map[string]bool{}, filter: ti,
		paint: common.NewPainter(), plain: new(lipgloss.NewStyle()), bold: new(lipgloss.NewStyle().Bold(true)), status: status, nameW: 8, addrW: 7}
}

// SetFleet replaces the fleet shown, keeping the selection of hosts that remain.
func (v *Model) SetFleet(f *inventory.Fleet) {
	focused := v.Focused().Name
	v.fleet = f
	for name := range v.selected {
		if _, ok := f.Host(name); !ok {
			delete(v.selected, name)
		}
	}
	v.Rebuild()
	v.focus(focused)
}

// SetSize gives the view its area.
func (v *Model) SetSize(w, h int) {
	v.width, v.height = w, h
	v.filter.SetWidth(max(10, w-4))
	v.scroll()
}

// Focused returns the host under the cursor (zero Host when none).
func (v *Model) Focused() inventory.Host {
	if v.cursor < len(v.rows) && v.rows[v.cursor].heading == "" {
		return v.rows[v.cursor].host
	}
	return inventory.Host{}
}

// Selected returns the selected hosts in list order, or the focused host when
// nothing is selected: what an action applies to.
func (v *Model) Selected() []inventory.Host {
	var out []inventory.Host
	for _, h := range v.fleet.Hosts {
		if v.selected[h.Name] {
			out = append(out, h)
		}
	}
	if len(out) == 0 && v.Focused().Name != "" {
		out = append(out, v.Focused())
	}
	return out
}

// Shown is the hosts the list shows (the filter's matches, folded groups'
// too), in order.
func (v *Model) Shown() []inventory.Host {
	var out []inventory.Host
	for _, r := range v.rows {
		if r.heading != "" {
			out = append(out, r.members...) // folded or not
		}
	}
	return out
}

// Fleet is the inventory shown.
func (v *Model) Fleet() *inventory.Fleet { return v.fleet }

// Marked is how many hosts are selected (Selected falls back on the
// focused host).
func (v *Model) Marked() int { return len(v.selected) }

// FilterValue is the filter typed, "" when none.
func (v *Model) FilterValue() string { return v.filter.Value() }

// Width is the list's width: the detail pane is right of it.
func (v *Model) Width() int { return v.width }

// Filtering reports whether the filter input has the keyboard.
func (v *Model) Filtering() bool { return v.filtering }

// Update handles the keys of the list.
// Init: the root loads the fleet and hands it over (SetFleet).
func (v Model) Init() tea.Cmd { return nil }

// KeyMap is the fleet's footer; the root marks the keys that are off.
func (v Model) KeyMap() []key.Binding { return v.keys.ShortHelp() }

// Update handles the fleet's keys, the wheel and a click on a host row.
func (v Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch m := msg.(type) {
	case tea.MouseWheelMsg:
		v.move(common.WheelDelta(m.Mouse()))
		return v, nil
	case tea.MouseClickMsg:
		v.click(m.Mouse().Y)
		return v, nil
	}
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return v, nil
	}
	if v.filtering {
		switch {
		case key.Matches(km, v.keys.Apply):
			v.filtering = false
			v.filter.Blur()
			return v, nil
		case key.Matches(km, v.keys.Cancel):
			v.filtering = false
			v.filter.Blur()
			v.filter.SetValue("")
			v.Rebuild()
			return v, nil
		}
		var cmd tea.Cmd
		v.filter, cmd = v.filter.Update(msg)
		v.Rebuild()
		return v, cmd
	}
	switch {
	case key.Matches(km, v.keys.Up):
		v.move(-1)
	case key.Matches(km, v.keys.Down):
		v.move(1)
	case key.Matches(km, v.keys.PageUp):
		v.move(-max(1, v.listHeight()-1))
	case key.Matches(km, v.keys.PageDown):
		v.move(max(1, v.listHeight()-1))
	case key.Matches(km, v.keys.Top):
		v.cursor = 0
		v.move(0)
	case key.Matches(km, v.keys.Bottom):
		v.cursor = len(v.rows) - 1
		v.move(0)
	case key.Matches(km, v.keys.Filter):
		v.filtering = true
		return v, v.filter.Focus()
	case key.Matches(km, v.keys.ClearFilter):
		v.filter.SetValue("")
		v.Rebuild()
	case key.Matches(km, v.keys.Select):
		if h := v.Focused(); h.Name != "" {
			if v.selected[h.Name] {
				delete(v.selected, h.Name)
			} else {
				v.selected[h.Name] = true
			}
			v.move(1)
		} else if v.cursor < len(v.rows) && v.rows[v.cursor].collapsed {
			v.toggleMembers(v.rows[v.cursor].members)
		}
	case key.Matches(km, v.keys.SelectAll):
		// Folded groups' hosts too: a fold hides rows, not hosts, and its
		// heading counts what is selected under it.
		for _, r := range v.rows {
			switch {
			case r.heading == "":
				v.selected[r.host.Name] = true
			case r.collapsed:
				for _, h := range r.members {
					v.selected[h.Name] = true
				}
			}
		}
	case key.Matches(km, v.keys.SelectNone):
		clear(v.selected)
	case key.Matches(km, v.keys.Collapse):
		v.toggleGroup()
	case key.Matches(km, v.keys.CollapseAll):
		v.toggleAll()
	}
	return v, nil
}

// toggleMembers selects a folded group's hosts, or, when all of them are
// selected already, none of them: space on a fold acts on the group.
func (v *Model) toggleMembers(hs []inventory.Host) {
	all := true
	for _, h := range hs {
		all = all && v.selected[h.Name]
	}
	for _, h := range hs {
		if all {
			delete(v.selected, h.Name)
		} else {
			v.selected[h.Name] = true
		}
	}
}

// move shifts the cursor by delta host rows, skipping headings.
func (v *Model) move(delta int) {
	if len(v.rows) == 0 {
		v.cursor = 0
		return
	}
	step := 1
	if delta < 0 {
		step = -1
	}
	target := min(max(v.cursor+delta, 0), len(v.rows)-1)
	// Land on a host row, searching first in the direction of travel.
	for _, dir := range []int{step, -step} {
		for i := target; i >= 0 && i < len(v.rows); i += dir {
			if v.rows[i].stop() {
				v.cursor = i
				v.scroll()
				return
			}
		}
	}
}

func (v *Model) focus(name string) {
	for i, r := range v.rows {
		if r.heading == "" && r.host.Name == name {
			v.cursor = i
			v.scroll()
			return
		}
	}
	v.move(0)
}

func (v *Model) listHeight() int {
	h := v.height - 1 // column header
	if v.filtering || v.filter.Value() != "" {
		h-- // filter line
	}
	return max(1, h)
}

// scroll keeps the cursor inside the drawn window, showing the group heading
// above the first host when there is room.
func (v *Model) scroll() {
	h := v.listHeight()
	if v.cursor < v.offset {
		v.offset = v.cursor
		if v.offset > 0 && v.rows[v.offset].heading == "" && v.rows[v.offset-1].heading != "" {
			v.offset--
		}
	}
	if v.cursor >= v.offset+h {
		v.offset = v.cursor - h + 1
	}
	v.offset = max(0, min(v.offset, len(v.rows)-h))
}

// Rebuild groups the hosts that pass the filter into rows.
func (v *Model) Rebuild() {
	focused, foldedAt := v.Focused().Name, ""
	if v.cursor < len(v.rows) && v.rows[v.cursor].collapsed {
		foldedAt = v.rows[v.cursor].group
	}
	q := strings.ToLower(strings.TrimSpace(v.filter.Value()))
	type group struct {
		key   string
		hosts []inventory.Host
	}
	var groups []*group
	index := map[string]*group{}
	for _, h := range v.fleet.Hosts {
		if q != "" && !matches(h, q) && !slices.Contains(v.status.words(h.Name), q) {
			continue
		}
		k := groupKey(h)
		g, ok := index[k]
		if !ok {
			g = &group{key: k}
			index[k] = g
			groups = append(groups, g)
		}
		g.hosts = append(g.hosts, h)
	}
	envRank := map[string]int{}
	for i, e := range v.fleet.Environments {
		envRank[e.Name] = i
	}
	slices.SortStableFunc(groups, func(a, b *group) int {
		ea, ra, _ := strings.Cut(a.key, "\x00")
		eb, rb, _ := strings.Cut(b.key, "\x00")
		if c := rankEnv(envRank, ea) - rankEnv(envRank, eb); c != 0 {
			return c
		}
		if c := rankRole(ra) - rankRole(rb); c != 0 {
			return c
		}
		return strings.Compare(ra, rb)
	})
	n := len(groups)
	for _, g := range groups {
		if !v.collapsed[g.key] {
			n += len(g.hosts)
		}
	}
	v.rows = make([]row, 0, n) // a fresh slice: copies of the view must not share rows
	v.nameW, v.addrW = 8, 7
	for _, g := range groups {
		env, role, _ := strings.Cut(g.key, "\x00")
		folded := v.collapsed[g.key]
		v.rows = append(v.rows, row{heading: groupHeading(v.fleet, env, role, len(g.hosts)), group: g.key, members: g.hosts, collapsed: folded})
		for _, h := range g.hosts {
			// Folded hosts are measured too: opening a group must not
			// change the columns' widths.
			if !folded {
				v.rows = append(v.rows, row{host: h})
			}
			v.nameW = max(v.nameW, common.Width(h.Name))
			v.addrW = max(v.addrW, common.Width(h.Address))
		}
	}
	v.nameW, v.addrW = min(v.nameW, 28), min(v.addrW, 32)
	if foldedAt != "" {
		v.focusGroup(foldedAt) // the cursor stays on its folded group
		return
	}
	v.focus(focused)
}

// groupKey is "env\x00role" with the host's first role in roleOrder.
func groupKey(h inventory.Host) string {
	role := "unassigned"
	if len(h.Roles) > 0 {
		role = h.Roles[0]
		for _, r := range roleOrder {
			if h.HasRole(r) {
				role = r
				break
			}
		}
	}
	return h.Env + "\x00" + role
}

func rankEnv(rank map[string]int, env string) int {
	if r, ok := rank[env]; ok {
		return r
	}
	return len(rank) // hosts without an environment go last
}

// rankRole orders the known roles first, then custom ones (by name, the
// caller's tie-break), then hosts with no role.
func rankRole(role string) int {
	if i := slices.Index(roleOrder, role); i >= 0 {
		return i
	}
	if role == "unassigned" {
		return len(roleOrder) + 1
	}
	return len(roleOrder)
}

func groupHeading(f *inventory.Fleet, env, role string, n int) string {
	name := env
	if name == "" {
		name = "no environment"
	}
	if e, ok := f.Environment(env); ok && e.Protected {
		name += " (protected)"
	}
	return fmt.Sprintf("%s · %s · %d", name, role, n)
}

// matches reports whether the host's name, address, environment, a role or a
// tag contains q (lower case). Status words (up, down, drift, failed ...)
// are matched whole by rebuild.
func matches(h inventory.Host, q string) bool {
	fields := append([]string{h.Name, h.Address, h.Env}, h.Roles...)
	fields = append(fields, h.Tags...)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// View draws the list in width x height.
func (v Model) View() string {
	st := v.ctx.Styles
	var b strings.Builder
	cols := fit(fleetColumns(v.nameW, v.addrW, v.status.enabled), v.width)
	if v.filtering || v.filter.Value() != "" {
		b.WriteString(v.filter.View())
		b.WriteByte('\n')
	}
	b.WriteString(st.Header.Render(common.Clip(renderHeader(cols), v.width)))
	if len(v.rows) == 0 {
		b.WriteString("\n" + st.Muted.Render("  no hosts"))
		if v.filter.Value() != "" {
			b.WriteString(st.Muted.Render(" match the filter (esc clears it)"))
		} else {
			b.WriteString(st.Muted.Render(": import a fleet with `opsui inventory import FILE`"))
		}
	}
	end := min(len(v.rows), v.offset+v.listHeight())
	for i := v.offset; i < end; i++ {
		r := v.rows[i]
		b.WriteByte('\n')
		if r.collapsed {
			b.WriteString(v.foldedHeading(r, i == v.cursor))
			continue
		}
		if r.heading != "" {
			b.WriteString(st.Group.Render(common.Clip(r.heading, v.width)))
			continue
		}
		// The mark column: ">" on the cursor row, which NO_COLOR shows too,
		// and "●" on a selected host. Selection is the mark alone: a
		// selected host's row keeps its status colours (a red STATE or
		// HEALTH must show through), and so does the cursor row, reversed.
		cur, mark := " ", " "
		if i == v.cursor {
			cur = ">"
		}
		if v.selected[r.host.Name] {
			mark = st.Selected.Render("●")
		}
		row := common.ClipStyled(v.renderRow(cols, cur+mark, r.host, true, i == v.cursor), v.width)
		if i == v.cursor {
			if n := v.width - lipgloss.Width(row); n > 0 {
				row += st.Cursor.Render(strings.Repeat(" ", n))
			}
		}
		b.WriteString(row)
	}
	return b.String()
}

// click moves the cursor to the host row on line y of the list; a
// group heading or an empty line does nothing.
func (v *Model) click(y int) {
	if v.filtering || v.filter.Value() != "" {
		y-- // the filter line
	}
	y-- // the column header
	if i := v.offset + y; y >= 0 && y < v.listHeight() && i < len(v.rows) && v.rows[i].stop() {
		v.cursor = i
		v.scroll()
	}
}
