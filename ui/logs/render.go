package logs

import (
	"fmt"
	"path"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// View draws the view in its size: a status line, the stream (merged or
// split) and, when shown, the top errors. Only visible rows are drawn.
func (v *Model) View() string {
	if v.width <= 0 || v.height <= 0 {
		return ""
	}
	h := v.height - 1
	var errs string
	if v.showErrs && h >= 6 {
		eh := max(4, h/3)
		errs = v.errorsPanel(v.width, eh)
		h -= eh
	}
	var body []string
	if v.split {
		body = v.splitLines(v.width, h)
	} else {
		body = v.mergedLines(v.width, h)
	}
	out := append([]string{v.statusLine()}, body...)
	if errs != "" {
		out = append(out, errs)
	}
	return strings.Join(out, "\n")
}

// statusLine says what the view shows: hosts, follow state, filter and
// search, hosts down, errors.
func (v *Model) statusLine() string {
	st := v.ctx.Styles
	parts := []string{st.Title.Render(v.titleText())}
	if v.paused {
		parts = append(parts, st.Warn.Render(fmt.Sprintf("PAUSED · %d new", v.unseen)))
	} else {
		parts = append(parts, st.OK.Render("following"))
	}
	if !v.filter.Empty() {
		parts = append(parts, "filter: "+v.filter.String())
	}
	if !v.search.Empty() {
		parts = append(parts, "search: "+v.search.String())
	}
	var down []string
	for _, hs := range v.buf.Hosts() {
		if hs.Down {
			down = append(down, fmt.Sprintf("%s down %s", hs.Name, time.Since(hs.Since).Round(time.Second)))
		}
	}
	if len(down) > 0 {
		parts = append(parts, st.Error.Render(strings.Join(down, ", ")))
	}
	parts = append(parts, fmt.Sprintf("%d lines", v.rowsLen()))
	if n := v.buf.ErrorGroups(); n > 0 {
		parts = append(parts, st.Error.Render(fmt.Sprintf("%d errors (e)", n)))
	}
	if v.lost > 0 {
		parts = append(parts, st.Warn.Render(fmt.Sprintf("%d lines skipped (too fast)", v.lost)))
	}
	if v.split {
		parts = append(parts, "split")
	}
	if v.wrap {
		parts = append(parts, "wrap")
	}
	if v.err != nil {
		parts = append(parts, st.Error.Render(v.err.Error()))
	}
	if v.note != "" {
		parts = append(parts, st.Warn.Render(v.note))
	}
	return common.ClipStyled(strings.Join(parts, st.Muted.Render(" · ")), v.width)
}

func (v *Model) titleText() string {
	if len(v.hosts) == 1 {
		return "logs of " + v.hosts[0]
	}
	return fmt.Sprintf("logs of %d hosts", len(v.hosts))
}

// label is a line's source as the merged view shows it: the host, and the
// file's name when several files are followed.
func (v *Model) label(l logs.Line) string {
	if len(v.files) > 1 {
		return l.Host + " " + path.Base(l.File)
	}
	return l.Host
}

// mergedLines draws the newest rows (or those the pause and scroll keep)
// from the bottom up, h screen lines at most.
func (v *Model) mergedLines(w, h int) []string {
	rows := v.rowsLast(v.offset + h)
	rows = rows[:max(0, len(rows)-v.offset)]
	if v.labelW == 0 {
		for _, l := range v.rowsLast(0) {
			v.labelW = max(v.labelW, len(v.label(l)))
		}
	}
	for _, l := range rows {
		v.labelW = max(v.labelW, len(v.label(l)))
	}
	out := make([]string, 0, h)
	for i := len(rows) - 1; i >= 0 && len(out) < h; i-- {
		fromNewest := len(rows) - i + v.offset
		lines := v.renderRow(rows[i], w, true, fromNewest == v.match)
		for j := len(lines) - 1; j >= 0 && len(out) < h; j-- {
			out = append(out, lines[j])
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	if len(out) == 0 {
		out = append(out, v.ctx.Styles.Muted.Render(v.emptyText()))
	}
	return out
}

func (v *Model) emptyText() string {
	if !v.filter.Empty() {
		return "no line matches the filter yet"
	}
	return "waiting for lines…"
}

// renderRow draws one row: arrival time, the coloured source label (when
// withLabel), and the text coloured by level, search matches highlighted;
// one screen line, or several when wrapping.
func (v *Model) renderRow(l logs.Line, w int, withLabel, current bool) []string {
	st := v.ctx.Styles
	// A gutter column for the search's > marker, so it never covers the time.
	prefix := " " + l.Time.Format("15:04:05") + " "
	if withLabel {
		lab := fmt.Sprintf("%-*s", v.labelW, v.label(l))
		if !v.ctx.Theme.Plain {
			lab = lipgloss.NewStyle().Foreground(v.ctx.Theme.HostColor(l.Host)).Render(lab)
		}
		prefix += lab + " │ "
	}
	pw := lipgloss.Width(prefix)
	if current {
		prefix = st.Cursor.Render(">") + prefix[1:]
	}
	text := l.Text
	if l.Kind.IsMarker() {
		text = "── " + path.Base(l.File) + ": " + text + " ──"
	}
	tw := max(1, w-pw)
	var chunks []string
	if v.wrap && lipgloss.Width(text) > tw {
		chunks = strings.Split(ansi.Hardwrap(text, tw, true), "\n")
	} else {
		chunks = []string{ansi.Truncate(text, tw, "…")}
	}
	base := v.levelStyle(l)
	out := make([]string, len(chunks))
	for i, c := range chunks {
		p := prefix
		if i > 0 {
			p = strings.Repeat(" ", pw)
		}
		out[i] = p + v.highlight(c, base)
	}
	return out
}

func (v *Model) levelStyle(l logs.Line) lipgloss.Style {
	st := v.ctx.Styles
	switch {
	case l.Kind == logs.KindDropped:
		return st.Error
	case l.Kind.IsMarker():
		return st.Warn.Bold(true)
	case l.Level == logs.LevelCritical:
		return st.Error.Reverse(true)
	case l.Level == logs.LevelError:
		return st.Error
	case l.Level == logs.LevelWarning:
		return st.Warn
	case l.Backlog:
		return st.Muted
	}
	return lipgloss.NewStyle()
}

// highlight styles text with base and its search (else filter) matches
// reversed.
func (v *Model) highlight(text string, base lipgloss.Style) string {
	hl := v.search
	if hl.Empty() {
		hl = v.filter
	}
	ms := hl.Matches(text)
	if len(ms) == 0 {
		return base.Render(text)
	}
	mark := base.Reverse(true)
	var b strings.Builder
	at := 0
	for _, m := range ms {
		if m[0] > at {
			b.WriteString(base.Render(text[at:m[0]]))
		}
		b.WriteString(mark.Render(text[m[0]:m[1]]))
		at = m[1]
	}
	if at < len(text) {
		b.WriteString(base.Render(text[at:]))
	}
	return b.String()
}

// splitLines draws a pane per host, as many as fit (at least 4 lines
// each), starting so the focused one shows.
func (v *Model) splitLines(w, h int) []string {
	n := len(v.hosts)
	if n == 0 {
		return nil
	}
	fit := max(1, min(n, h/4))
	first := min(max(0, v.focus-fit+1), n-fit)
	states := map[string]string{}
	for _, hs := range v.buf.Hosts() {
		s := fmt.Sprintf("%d lines", hs.Lines)
		if hs.Down {
			s = "DOWN · " + s
		}
		states[hs.Name] = s
	}
	var out []string
	for i := first; i < first+fit; i++ {
		ph := h / fit
		if i == first+fit-1 {
			ph = h - len(out)
		}
		out = append(out, v.pane(i, w, ph, states[v.hosts[i]])...)
	}
	if fit < n {
		out[len(out)-1] = v.ctx.Styles.Muted.Render(common.Clip(fmt.Sprintf("… %d more hosts (tab moves)", n-fit), w))
	}
	return out
}

// pane draws host i's pane: a title line, then its newest rows.
func (v *Model) pane(i, w, h int, state string) []string {
	st := v.ctx.Styles
	host := v.hosts[i]
	if v.paneHeld(host) {
		state += fmt.Sprintf(" · PAUSED · %d newer", v.paneSkip(host))
	}
	title := fmt.Sprintf("─ %s · %s ", host, state)
	style := lipgloss.NewStyle().Bold(true)
	if !v.ctx.Theme.Plain {
		style = style.Foreground(v.ctx.Theme.HostColor(host))
	}
	if i == v.focus {
		style = style.Reverse(true)
	}
	out := []string{style.Render(common.Clip(title, w)) + st.Muted.Render(strings.Repeat("─", max(0, w-lipgloss.Width(title))))}
	r := v.perHost[host]
	skip := v.paneSkip(host)
	rows := lastRows(r, h-1, skip)
	var lines []string
	for j, l := range rows {
		num := r.Total() - uint64(skip) - uint64(len(rows)-1-j) // its row number
		current := v.matchHost == host && v.paneMatch == num
		lines = append(lines, v.renderRow(l, w, false, current)...)
	}
	if len(lines) > h-1 {
		lines = lines[len(lines)-(h-1):]
	}
	out = append(out, lines...)
	for len(out) < h {
		out = append(out, "")
	}
	return out
}

// lastRows returns the n rows before the last skip ones of r.
func lastRows(r *remote.Ring[logs.Line], n, skip int) []logs.Line {
	rows := r.Last(n + skip)
	return rows[:max(0, len(rows)-skip)]
}

// errorsPanel draws the top errors: count, hosts, first and last seen, and
// the error (a traceback's exception and last frame).
func (v *Model) errorsPanel(w, h int) string {
	st := v.ctx.Styles
	groups := v.buf.Top(h - 1)
	title := common.Clip(fmt.Sprintf("─ top errors (%d groups)%s ", v.buf.ErrorGroups(), v.firstSeenNote()), w)
	out := []string{st.Header.Render(title + strings.Repeat("─", max(0, w-lipgloss.Width(title))))}
	if len(groups) == 0 {
		out = append(out, st.Muted.Render("no error yet"))
	}
	for _, g := range groups {
		hosts := strings.Join(g.Hosts, ",")
		if len(g.Hosts) > 3 {
			hosts = fmt.Sprintf("%s +%d", strings.Join(g.Hosts[:2], ","), len(g.Hosts)-2)
		}
		what := g.Summary
		if g.Traceback {
			what = "Traceback: " + g.Summary + " ← " + g.Frame
		}
		line := fmt.Sprintf("%6d  %-16s %s–%s  %s", g.Count, common.Clip(hosts, 16),
			g.FirstSeen.Format("15:04:05"), g.LastSeen.Format("15:04:05"), what)
		if cell := v.firstSeenCell(g); cell != "" {
			line = fmt.Sprintf("%6d  %-16s first seen in %-31s %s", g.Count, common.Clip(hosts, 16), cell, what)
		}
		out = append(out, st.Error.Render(ansi.Truncate(line, w, "…")))
	}
	return strings.Join(out, "\n")
}
