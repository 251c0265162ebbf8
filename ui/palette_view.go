package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// paletteScore is how well query matches name, lower is better: a
// prefix, then a substring, then the letters in order; false when the
// letters are not all there in order.
func paletteScore(query, name string) (int, bool) {
	switch i := strings.Index(name, query); {
	case i == 0:
		return 0, true
	case i > 0:
		return 10 + i, true
	}
	score, at := 100, 0
	for _, r := range query {
		j := strings.IndexRune(name[at:], r)
		if j < 0 {
			return 0, false
		}
		score += j
		at += j + 1
	}
	return score, true
}

// paletteMatches are the entries the line typed matches, best first; the
// words after the first are the entry's subject.
func (a App) paletteMatches() (matches []paletteEntry, args []string) {
	words := strings.Fields(a.palette.input.Value())
	entries := a.paletteEntries()
	if len(words) == 0 {
		return entries, nil
	}
	q := strings.ToLower(words[0])
	type scored struct {
		e paletteEntry
		s int
	}
	var ss []scored
	for _, e := range entries {
		if s, ok := paletteScore(q, e.name); ok {
			ss = append(ss, scored{e, s})
		}
	}
	slices.SortStableFunc(ss, func(x, y scored) int { return x.s - y.s })
	for _, s := range ss {
		matches = append(matches, s.e)
	}
	return matches, words[1:]
}

// openPalette shows the palette with an empty line.
func (a App) openPalette() (tea.Model, tea.Cmd) {
	a.notice, a.mode = "", modePalette
	a.palette.input.SetValue("")
	a.palette.cursor, a.palette.hist = 0, len(a.palette.history)
	return a, a.palette.input.Focus()
}

// paletteKey handles a key while the palette is shown.
func (a App) paletteKey(km tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	k, p := a.keys, &a.palette
	matches, args := a.paletteMatches()
	switch {
	case key.Matches(km, k.Cancel):
		a.closePalette()
		return a, nil
	case key.Matches(km, k.Apply):
		line := strings.TrimSpace(p.input.Value())
		a.closePalette()
		if len(matches) == 0 {
			a.notice = "no command " + line + " (: lists them)"
			return a, nil
		}
		if line != "" {
			p.history = append(slices.DeleteFunc(p.history, func(h string) bool { return h == line }), line)
			if len(p.history) > paletteHistoryMax {
				p.history = p.history[len(p.history)-paletteHistoryMax:]
			}
		}
		return matches[min(p.cursor, len(matches)-1)].run(a, args)
	case key.Matches(km, k.PaletteUp):
		p.cursor = max(0, p.cursor-1)
		return a, nil
	case key.Matches(km, k.PaletteDown):
		p.cursor = min(max(0, len(matches)-1), p.cursor+1)
		return a, nil
	case key.Matches(km, k.PaletteComplete):
		if len(matches) > 0 {
			p.input.SetValue(strings.Join(append([]string{matches[min(p.cursor, len(matches)-1)].name}, args...), " ") + " ")
			p.input.CursorEnd()
			p.cursor = 0
		}
		return a, nil
	case key.Matches(km, k.PaletteOlder), key.Matches(km, k.PaletteNewer):
		if key.Matches(km, k.PaletteOlder) {
			p.hist = max(0, p.hist-1)
		} else {
			p.hist = min(len(p.history), p.hist+1)
		}
		line := ""
		if p.hist < len(p.history) {
			line = p.history[p.hist]
		}
		p.input.SetValue(line)
		p.input.CursorEnd()
		p.cursor = 0
		return a, nil
	}
	before := p.input.Value()
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(km)
	if p.input.Value() != before {
		p.cursor = 0
	}
	return a, cmd
}

func (a *App) closePalette() {
	a.mode = modeFleet
	a.palette.input.Blur()
}

// paletteView draws the matches over the bottom of body, the one under
// the cursor marked with > (seen without colours too), each with its
// subject and why it does nothing now.
func (a App) paletteView(body string, w int) string {
	st := a.ctx.Styles
	matches, _ := a.paletteMatches()
	var rows []string
	if len(matches) == 0 {
		rows = append(rows, st.Warn.Render(common.Clip("no command matches: esc leaves", w)))
	}
	top := max(0, a.palette.cursor-paletteShown+1)
	for i, e := range matches[top:min(len(matches), top+paletteShown)] {
		mark := "  "
		if top+i == a.palette.cursor {
			mark = "> "
		}
		text := fmt.Sprintf("%s%-9s %-26s %s", mark, e.name, e.args, e.desc)
		if r := a.paletteOff(e.b); r != "" && e.name != "logs" && e.name != "shell" {
			text += " (off: " + r + ")"
		}
		row := common.PadRight(common.Clip(text, w), w)
		if top+i == a.palette.cursor {
			row = st.Selected.Reverse(true).Render(row)
		}
		rows = append(rows, row)
	}
	hint := common.KeyName(a.keys.Apply) + " run · " + common.KeyName(a.keys.PaletteComplete) + " complete · " + common.KeyName(a.keys.PaletteUp) + "/" + common.KeyName(a.keys.PaletteDown) + " choose · " +
		common.KeyName(a.keys.PaletteOlder) + "/" + common.KeyName(a.keys.PaletteNewer) + " history · " + common.KeyName(a.keys.Cancel) + " leave"
	rows = append([]string{st.Muted.Render(common.PadRight(common.Clip(hint, w), w))}, rows...)
	lines := strings.Split(body, "\n")
	start := max(0, len(lines)-len(rows))
	for i, r := range rows {
		if start+i < len(lines) {
			lines[start+i] = r
		}
	}
	return strings.Join(lines, "\n")
}
