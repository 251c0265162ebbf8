package ui

import (
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops"
)

// gridMax is the most hosts shown as a grid of panes; more get a list and
// the focused host's pane.
const gridMax = 4

// runView shows a run: a pane per host streaming its output.
type runView struct {
	ctx           *Context
	keys          KeyMap
	feed          *runFeed
	focus         int
	width, height int
	confirmCancel bool
}

// statusText is a host's state in words (never colour alone).
func statusText(p paneSnapshot) string {
	switch p.status {
	case ops.EventQueued:
		return "queued"
	case ops.EventConnecting:
		return "connecting"
	case ops.EventStarted, ops.EventStdout, ops.EventStderr, ops.EventProgress:
		return "running"
	case ops.EventExited:
		if p.code == 0 {
			return fmt.Sprintf("ok %s", p.took.Round(time.Millisecond))
		}
		return fmt.Sprintf("failed: exit %d", p.code)
	case ops.EventFailed:
		return "failed: " + string(p.class)
	}
	return ""
}

func (v runView) statusStyle(p paneSnapshot) lipgloss.Style {
	st := v.ctx.Styles
	switch {
	case p.status == ops.EventExited && p.code == 0:
		return st.OK
	case p.status == ops.EventExited, p.status == ops.EventFailed:
		return st.Error
	case p.status == ops.EventQueued:
		return st.Muted
	}
	return st.Warn
}

func failed(p paneSnapshot) bool {
	return p.status == ops.EventFailed || (p.status == ops.EventExited && p.code != 0)
}

// Update handles the run view's keys.
func (v runView) Update(msg tea.Msg) (runView, tea.Cmd) {
	km, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return v, nil
	}
	if v.confirmCancel {
		// Only an explicit y cancels; anything else, Enter included, keeps going.
		if km.String() == "y" {
			return v, func() tea.Msg { return cancelRunMsg{id: v.feed.id} }
		}
		v.confirmCancel = false
		return v, nil
	}
	panes, done, _ := v.feed.snapshot(0, noPanes)
	switch {
	case key.Matches(km, v.keys.Up):
		v.focus = max(0, v.focus-1)
	case key.Matches(km, v.keys.Down):
		v.focus = min(len(panes)-1, v.focus+1)
	case key.Matches(km, v.keys.NextFailed), key.Matches(km, v.keys.PrevFailed):
		step := 1
		if key.Matches(km, v.keys.PrevFailed) {
			step = -1
		}
		for i := 1; i <= len(panes); i++ {
			j := ((v.focus+step*i)%len(panes) + len(panes)) % len(panes)
			if failed(panes[j]) {
				v.focus = j
				break
			}
		}
	case key.Matches(km, v.keys.CancelRun):
		if !done {
			v.confirmCancel = true
		}
	}
	return v, nil
}

// View draws the run.
func (v runView) View() string {
	st := v.ctx.Styles
	lines := max(1, v.height-2)
	only := allPanes
	if len(v.feed.panes) > gridMax { // fixed at the run's start: no lock needed
		only = v.focus
	}
	panes, done, res := v.feed.snapshot(lines, only)
	counts := map[string]int{}
	for _, p := range panes {
		switch {
		case failed(p):
			counts["failed"]++
		case p.status == ops.EventExited:
			counts["ok"]++
		default:
			counts["running"]++
		}
	}
	head := fmt.Sprintf("run %d · %s · %d running, %d ok, %d failed", v.feed.id, clip(v.feed.command, 40), counts["running"], counts["ok"], counts["failed"])
	if done {
		head = fmt.Sprintf("run %d · %s · done: %s", v.feed.id, clip(v.feed.command, 40), res.Summary())
		if err := v.feed.runErr(); err != nil {
			head = fmt.Sprintf("run %d · %s · could not start: %v", v.feed.id, clip(v.feed.command, 40), err)
		}
	}
	var b strings.Builder
	b.WriteString(st.Title.Render(clip(head, v.width)))
	b.WriteByte('\n')
	if v.confirmCancel {
		b.WriteString(st.Error.Render("cancel the run on every host? y to cancel, any other key to go on"))
		b.WriteByte('\n')
	}
	bodyH := v.height - strings.Count(b.String(), "\n")
	if len(panes) <= gridMax {
		b.WriteString(v.grid(panes, bodyH))
	} else {
		b.WriteString(v.listAndPane(panes, bodyH))
	}
	return b.String()
}

// grid lays the panes out in one or two columns.
func (v runView) grid(panes []paneSnapshot, h int) string {
	cols := 1
	if v.width >= 100 && len(panes) > 1 {
		cols = 2
	}
	rows := (len(panes) + cols - 1) / cols
	paneH := max(3, h/rows)
	paneW := v.width / cols
	var out []string
	for r := 0; r < rows; r++ {
		var row []string
		for c := 0; c < cols; c++ {
			if i := r*cols + c; i < len(panes) {
				row = append(row, v.pane(panes[i], paneW, paneH, i == v.focus))
			}
		}
		out = append(out, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return lipgloss.JoinVertical(lipgloss.Left, out...)
}

// listAndPane shows every host with its status and the focused host's pane.
func (v runView) listAndPane(panes []paneSnapshot, h int) string {
	listW := 0
	for _, p := range panes {
		listW = max(listW, lipgloss.Width(p.name)+2+len(statusText(p)))
	}
	listW = min(listW+2, v.width/3)
	start := max(0, min(v.focus-h/2, len(panes)-h))
	var list []string
	for i := start; i < len(panes) && len(list) < h; i++ {
		p := panes[i]
		line := clip(fmt.Sprintf("%s %s", p.name, statusText(p)), listW)
		if i == v.focus {
			line = v.ctx.Styles.Cursor.Render(padRight(line, listW))
		} else {
			line = v.statusStyle(p).Render(line)
		}
		list = append(list, line)
	}
	left := lipgloss.NewStyle().Width(listW).Render(strings.Join(list, "\n"))
	return lipgloss.JoinHorizontal(lipgloss.Top, left, v.pane(panes[v.focus], v.width-listW, h, true))
}

// pane draws one host: a title with its status, then its last lines.
func (v runView) pane(p paneSnapshot, w, h int, focused bool) string {
	st := v.ctx.Styles
	title := v.statusStyle(p).Render(p.name + " · " + statusText(p))
	inner := max(1, h-3) // border and title
	lines := p.lines
	if p.progress != "" {
		lines = append(lines, st.Muted.Render(p.progress))
	}
	if p.err != "" && p.status == ops.EventFailed {
		lines = append(lines, st.Error.Render(p.err))
	}
	if len(lines) > inner {
		lines = lines[len(lines)-inner:]
	}
	for i, l := range lines {
		lines[i] = clip(l, max(1, w-4))
	}
	border := st.Pane
	if focused {
		border = border.BorderForeground(v.ctx.Theme.Accent)
	}
	return border.Width(w).Height(h).MaxHeight(h).Render(title + "\n" + strings.Join(lines, "\n"))
}
