package run

import (
	"fmt"
	"strings"
	"time"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
)

// gridMax is the most hosts shown as a grid of panes; more get a list and
// the focused host's pane.
const gridMax = 4

// Model shows a run: a pane per host streaming its output.
type Model struct {
	ctx           *common.Context
	keys          KeyMap
	feed          *Feed
	focus         int
	width, height int
	confirmCancel bool
	// scrolled is set when the focused pane stopped following its output
	// (f, scrolling up); top is then its first line drawn, counted over
	// every line the host printed.
	scrolled bool
	top      uint64
	note     string // a one-key message: "no failed host"
	// How the panes show long lines (lines.go): wrapped, or cut and
	// shifted hoff columns left; zoom gives the focused pane the whole
	// view; whole shows its selected line in full below its output.
	wrap, zoom, whole bool
	hoff              int
	// groups is the choice between the hosts grouped by output and the
	// per-host panes (grouped.go); ask is the staged run's question.
	groups groupsPref
	ask    *continueQuestion
	// cursorSet: the operator moved the groups' cursor (else pinned).
	cursorSet bool
}

// New shows feed's run.
func New(ctx *common.Context, keys KeyMap, feed *Feed) Model {
	return Model{ctx: ctx, keys: keys, feed: feed}
}

// Feed is the run shown, nil in a view that shows none yet.
func (v Model) Feed() *Feed { return v.feed }

// Focus is the index of the host that has the focus.
func (v Model) Focus() int { return v.focus }

// Size is the size last set.
func (v Model) Size() (width, height int) { return v.width, v.height }

// statusText is a host's state in words (never colour alone).
func statusText(p paneSnapshot) string {
	switch p.status {
	case remote.EventQueued:
		if p.held {
			return "held back"
		}
		return "queued"
	case remote.EventConnecting:
		return "connecting"
	case remote.EventStarted, remote.EventStdout, remote.EventStderr, remote.EventProgress, remote.EventStage:
		return "running"
	case remote.EventExited:
		if p.code == 0 {
			return fmt.Sprintf("ok %s", p.took.Round(time.Millisecond))
		}
		return fmt.Sprintf("failed: exit %d", p.code)
	case remote.EventFailed:
		if w := notFailedWord(p); w != "" {
			return w
		}
		if p.class == remote.ClassCancelled {
			return "cancelled"
		}
		return "failed: " + string(p.class)
	}
	return ""
}

// endWords is a pipeline host's failure in the words of every screen
// (deploy.HostWords): against the step it failed at, with its reason.
func endWords(p paneSnapshot) string {
	status := store.HostFailed
	if p.class == remote.ClassCancelled {
		status = store.HostCancelled
	}
	err := p.err
	switch {
	case err == "" && p.status == remote.EventExited && p.code > 0:
		err = fmt.Sprintf("exit status %d", p.code)
	case p.class == remote.ClassExit, p.class == remote.ClassCancelled, p.class == remote.ClassNone:
	case !strings.HasPrefix(err, string(p.class)):
		err = string(p.class) + ": " + err // a timeout, an unreachable host: say which
	}
	return deploy.HostWordsClass(status, p.failedAt(), p.class, err)
}

// failedTitle is a failed pipeline host's state for its pane's title:
// the step, and the exit status when that is all there is to say.
func failedTitle(p paneSnapshot) string {
	status := store.HostFailed
	if p.class == remote.ClassCancelled {
		status = store.HostCancelled
	}
	s := deploy.HostWords(status, p.failedAt(), "")
	if p.status == remote.EventExited && p.code > 0 {
		s += fmt.Sprintf(" (exit %d)", p.code)
	}
	return s
}

// failedAt is the stage the host failed in (the stage it is in for a
// snapshot made before the feed kept it).
func (p paneSnapshot) failedAt() string {
	if p.failStage != "" {
		return p.failStage
	}
	return p.stage
}

// notFailedWord names the end of a deploy's host that did not fail on its
// own: "not reached" (its batch never started) or "rolled back" (switched
// back because another host failed). Their events say cancelled; their
// last stage is not where anything failed. Empty for any other host.
func notFailedWord(p paneSnapshot) string {
	return deploy.NotFailedWord("", p.failedAt(), p.err) // live events carry no host status
}

// stageText is a pipeline host's step, "3/7 unpack", and its upload,
// "upload 1.2 MB/4.0 MB 30%"; empty for a plain command.
func stageText(p paneSnapshot) string {
	var parts []string
	switch {
	case p.stage != "" && p.step > 0:
		parts = append(parts, fmt.Sprintf("%d/%d %s", p.step, p.steps, p.stage))
	case p.stage != "":
		parts = append(parts, p.stage)
	}
	if p.total > 0 && !finished(p) {
		parts = append(parts, fmt.Sprintf("upload %s/%s %d%%", byteSize(p.sent), byteSize(p.total), p.sent*100/p.total))
	}
	return strings.Join(parts, " · ")
}

// rowText is a host's line in the list: its state, and its step while
// it runs (where it stopped when it failed).
func rowText(p paneSnapshot) string {
	stage := stageText(p)
	switch {
	case stage == "":
		return statusText(p)
	case p.status == remote.EventStarted:
		return stage
	case failed(p):
		return endWords(p)
	}
	return statusText(p)
}

// byteSize writes n bytes as 512 B, 1.2 KB, 3.4 MB or 1.1 GB.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, suffix := float64(n)/unit, "KB"
	for _, s := range []string{"MB", "GB", "TB"} {
		if v < unit {
			break
		}
		v, suffix = v/unit, s
	}
	return fmt.Sprintf("%.1f %s", v, suffix)
}

func (v Model) statusStyle(p paneSnapshot) lipgloss.Style {
	st := v.ctx.Styles
	switch {
	case p.status == remote.EventExited && p.code == 0:
		return st.OK
	case p.status == remote.EventExited, p.status == remote.EventFailed:
		return st.Error
	case p.status == remote.EventQueued:
		return st.Muted
	}
	return st.Warn
}

func failed(p paneSnapshot) bool {
	return p.status == remote.EventFailed || (p.status == remote.EventExited && p.code != 0)
}

func finished(p paneSnapshot) bool {
	return p.status == remote.EventFailed || p.status == remote.EventExited
}

// summary is the run's first line: what ran, how many hosts are done, ok,
// failed and running, the time so far and the slowest host.
func (v Model) summary(snap runSnapshot) string {
	what := fmt.Sprintf("%s · %s · ", v.feed.title, common.Clip(v.feed.command, 40))
	if snap.done {
		if err := v.feed.Err(); err != nil && len(snap.res.Hosts) == 0 {
			return what + fmt.Sprintf("could not start: %v", err)
		}
		return what + fmt.Sprintf("done: %s · elapsed %s", snap.res.Summary(), common.Elapsed(snap.elapsed))
	}
	var ok, bad, running int
	slowest, slowTime := "", time.Duration(0)
	for _, p := range snap.panes {
		took := p.running
		switch {
		case failed(p):
			bad++
			took = p.took
		case finished(p):
			ok++
			took = p.took
		default:
			running++
		}
		if took > slowTime {
			slowest, slowTime = p.name, took
		}
	}
	s := what + fmt.Sprintf("%d/%d done (%d ok, %d failed), %d running · elapsed %s",
		ok+bad, len(snap.panes), ok, bad, running, common.Elapsed(snap.elapsed))
	if slowest != "" {
		s += fmt.Sprintf(" · slowest %s %s", slowest, common.Elapsed(slowTime))
	}
	return s
}

// runLayout is where the run view draws what: the lines above the panes,
// then either a grid of panes or a list beside the focused host's pane.
type runLayout struct {
	headH        int // summary and notice lines
	grid         bool
	grouped      bool // the groups' rows above the cursor group's pane (grouped.go)
	groupRows    int
	cols, rows   int
	paneW, paneH int
	listW        int
	listStart    int // first host of the list drawn
}

func (v Model) layout(panes []paneSnapshot) runLayout {
	l := runLayout{headH: 1}
	if v.confirmCancel || v.note != "" {
		l.headH++
	}
	if v.ask != nil && !v.confirmCancel {
		l.headH++
	}
	if v.watchLine() != "" {
		l.headH++
	}
	h := max(1, v.height-l.headH)
	if v.showGroups() {
		l.grouped, l.groupRows = true, groupRowsFor(len(v.feed.groupsSnapshot()), h)
		l.paneW, l.paneH = v.width, max(3, h-1-l.groupRows)
		return l
	}
	if v.zoom {
		l.grid, l.cols, l.rows, l.paneW, l.paneH = true, 1, 1, v.width, h
		return l
	}
	if len(v.feed.panes) <= gridMax {
		l.grid, l.cols = true, 1
		if v.width >= 100 && len(panes) > 1 {
			l.cols = 2
		}
		l.rows = max(1, (len(panes)+l.cols-1)/l.cols)
		l.paneH, l.paneW = max(3, h/l.rows), v.width/l.cols
		return l
	}
	for _, p := range panes {
		l.listW = max(l.listW, lipgloss.Width(p.name)+1+lipgloss.Width(rowText(p)))
	}
	l.listW = min(l.listW+2, v.width/3)
	l.listStart = max(0, min(v.focus-h/2, len(panes)-h))
	l.paneW, l.paneH = v.width-l.listW, h
	return l
}

// innerLines is how many output lines the focused pane shows.
func (l runLayout) innerLines() int { return max(1, l.paneH-3) }

// View draws the run.
func (v Model) View() string {
	v = v.pinned()
	st := v.ctx.Styles
	shape := v.feed.snapshot(0, noPanes, window{})
	l := v.layout(shape.panes)
	only := allPanes
	if !l.grid || v.zoom {
		only = v.focus
	}
	snap := v.feed.snapshot(l.innerLines(), only, window{pane: v.focus, top: v.top, follow: !v.scrolled})
	var b strings.Builder
	b.WriteString(st.Title.Render(common.Clip(v.summary(snap), v.width)))
	if w := v.watchLine(); w != "" {
		b.WriteString("\n" + w)
	}
	switch {
	case v.confirmCancel:
		b.WriteString("\n" + st.Error.Render(common.Clip("cancel the run on every host? y to cancel, any other key to go on", v.width)))
	case v.note != "":
		b.WriteString("\n" + st.Warn.Render(common.Clip(v.note, v.width)))
	}
	if v.ask != nil && !v.confirmCancel {
		b.WriteString("\n" + v.askLine())
	}
	b.WriteByte('\n')
	switch {
	case l.grouped:
		b.WriteString(v.groupedView(snap, l))
	case v.zoom:
		b.WriteString(v.pane(snap.panes[v.focus], l.paneW, l.paneH, true))
	case l.grid:
		b.WriteString(v.grid(snap.panes, l))
	default:
		b.WriteString(v.listAndPane(snap.panes, l))
	}
	return b.String()
}

// grid lays the panes out in one or two columns.
func (v Model) grid(panes []paneSnapshot, l runLayout) string {
	var out []string
	for r := 0; r < l.rows; r++ {
		var row []string
		for c := 0; c < l.cols; c++ {
			if i := r*l.cols + c; i < len(panes) {
				row = append(row, v.pane(panes[i], l.paneW, l.paneH, i == v.focus))
			}
		}
		out = append(out, lipgloss.JoinHorizontal(lipgloss.Top, row...))
	}
	return lipgloss.JoinVertical(lipgloss.Left, out...)
}

// listAndPane shows every host with its status and the focused host's pane.
func (v Model) listAndPane(panes []paneSnapshot, l runLayout) string {
	var list []string
	for i := l.listStart; i < len(panes) && len(list) < l.paneH; i++ {
		p := panes[i]
		cur := "  "
		if i == v.focus {
			cur = "> "
		}
		line := common.Clip(cur+p.name+" "+rowText(p), l.listW)
		if i == v.focus {
			line = v.ctx.Styles.Cursor.Render(common.PadRight(line, l.listW))
		} else {
			line = v.statusStyle(p).Render(line)
		}
		list = append(list, line)
	}
	left := lipgloss.NewStyle().Width(l.listW).Render(strings.Join(list, "\n"))
	return lipgloss.JoinHorizontal(lipgloss.Top, left, v.pane(panes[v.focus], l.paneW, l.paneH, true))
}

// pane draws one host: a title with its status and step, then its lines
// (lines.go: cut or wrapped, shifted, with the selected line in full).
func (v Model) pane(p paneSnapshot, w, h int, focused bool) string {
	st := v.ctx.Styles
	title := p.name + " · " + statusText(p)
	if failed(p) && p.failedAt() != "" && notFailedWord(p) == "" {
		title = p.name + " · " + failedTitle(p)
	} else if s := stageText(p); s != "" {
		title += " · " + s
	}
	if focused {
		title += v.modeText()
	}
	inner := max(1, h-3) // border and title
	lines := p.lines
	if !(focused && v.scrolled) {
		if p.progress != "" {
			lines = append(lines, st.Muted.Render(p.progress))
		}
		if p.err != "" && p.status == remote.EventFailed {
			why := p.err
			if p.failedAt() != "" {
				why = endWords(p) // the step said once, its reason, what the switch back left
			}
			lines = append(lines, st.Error.Render(why))
		}
	}
	rows := v.paneRows(lines, max(1, w-4), inner, focused)
	// Focus is shown without colours too: a thick border and a ">" before
	// the title, in bold.
	border, titleStyle := st.Pane, v.statusStyle(p)
	if focused {
		border = border.BorderStyle(lipgloss.ThickBorder()).BorderForeground(v.ctx.Theme.Accent)
		title, titleStyle = "> "+title, titleStyle.Bold(true)
	}
	return border.Width(w).Height(h).MaxHeight(h).Render(titleStyle.Render(common.Clip(title, max(1, w-4))) + "\n" + strings.Join(rows, "\n"))
}
