package flows

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
)

// compareView is two releases side by side: a is the older, b the newer.
type compareView struct {
	a, b   store.Release
	cmp    deploy.Comparison
	err    error
	loaded bool
	top    int
}

// lines draws the comparison for width w.
func (c *compareView) lines(st common.Styles, w int) []string {
	colW := max(20, (w-18)/2)
	row := func(label, a, b string) string {
		return common.Clip(fmt.Sprintf("%-16s  %-*s  %s", label, colW, common.Clip(a, colW), common.Clip(b, colW)), w)
	}
	took := func(r store.Release) string {
		if r.Took() == 0 {
			return "-"
		}
		return common.Elapsed(r.Took())
	}
	l := []string{
		st.Header.Render(row("", "A (older)", "B (newer)")),
		row("release", c.a.ReleaseID+" "+c.a.Kind, c.b.ReleaseID+" "+c.b.Kind),
		row("commit", deploy.ShortCommit(c.a.Commit)+" "+c.a.Subject, deploy.ShortCommit(c.b.Commit)+" "+c.b.Subject),
		row("branch", orDash(c.a.Branch), orDash(c.b.Branch)),
		row("who", c.a.Operator, c.b.Operator),
		row("when", c.a.StartedAt.Time().Local().Format("2006-01-02 15:04:05"), c.b.StartedAt.Time().Local().Format("2006-01-02 15:04:05")),
		row("result", c.a.Result.Words(), c.b.Result.Words()),
		row("live on", hostsWord(liveOn(c.a)), hostsWord(liveOn(c.b))),
		row("duration", took(c.a), took(c.b)),
		row("strategy", orDash(c.a.Strategy), orDash(c.b.Strategy)),
		row("migrations", yesNo(c.a.MigrationsApplied), yesNo(c.b.MigrationsApplied)),
	}
	switch {
	case c.err != nil:
		return append(l, "", st.Error.Render(common.Clip(c.err.Error(), w)))
	case !c.loaded:
		return append(l, "", st.Muted.Render("reading the repository and the runs…"))
	}
	x := c.cmp
	l = append(l, "", st.Header.Render(fmt.Sprintf("commits between them (%d, in B not in A)", len(x.Commits))))
	for _, cm := range x.Commits {
		l = append(l, common.Clip(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(cm.Hash), common.Clip(cm.Author, 18), cm.Subject), w))
	}
	if len(x.Backward) > 0 {
		l = append(l, st.Warn.Render(fmt.Sprintf("commits in A not in B (%d): B went back", len(x.Backward))))
		for _, cm := range x.Backward {
			l = append(l, common.Clip(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(cm.Hash), common.Clip(cm.Author, 18), cm.Subject), w))
		}
	}
	if x.Diffstat != "" {
		l = append(l, "", st.Header.Render("diffstat"))
		for _, s := range strings.Split(strings.TrimRight(x.Diffstat, "\n"), "\n") {
			l = append(l, common.Clip("  "+strings.TrimSpace(s), w))
		}
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("migrations that differ (%d)", len(x.Migrations))))
	for _, m := range x.Migrations {
		l = append(l, common.Clip("  "+m, w))
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("requirements that differ (%d)", len(x.Requirements))))
	for _, r := range x.Requirements {
		l = append(l, common.Clip("  "+r, w))
	}
	l = append(l, "", st.Header.Render("hosts whose outcome differed"))
	differ := x.DifferingHosts()
	for _, h := range differ {
		l = append(l, st.Warn.Render(row("  "+h, orDash(x.HostsA[h]), orDash(x.HostsB[h]))))
	}
	if len(differ) == 0 {
		l = append(l, st.Muted.Render("  none: every host ended the same way"))
	}
	return l
}

// hostsWord is a LIVE cell in words: "2 hosts", "1 host", "none".
func hostsWord(n string) string {
	switch n {
	case "none":
		return n
	case "1":
		return "1 host"
	}
	return n + " hosts"
}

func yesNo(b bool) string {
	if b {
		return "applied"
	}
	return "none"
}

// view draws the releases view.
func (v *releasesView) view(w, h int) string {
	st := v.env.ctx.Styles
	var b strings.Builder
	title := "releases"
	if !v.picking {
		title += " · " + v.target.String()
	}
	switch {
	case v.opening != 0:
		title += fmt.Sprintf(" · reading run %d…", v.opening)
	case v.cmp != nil:
		title += fmt.Sprintf(" · compare %s with %s", v.cmp.a.ReleaseID, v.cmp.b.ReleaseID)
	case !v.picking && v.replay == nil && len(v.list) > 0:
		if _, _, more := relTable(v.col, w); more != "" {
			title += " · columns: " + more
		}
	}
	b.WriteString(st.Title.Render(common.Clip(title, w)) + "\n")
	if v.note != "" {
		b.WriteString(st.Warn.Render(common.Clip(v.note, w)) + "\n")
	}
	bodyH := max(3, h-strings.Count(b.String(), "\n"))
	switch {
	case v.replay != nil:
		rv := *v.replay
		rv.SetSize(w, bodyH)
		b.WriteString(rv.View())
	case v.cmp != nil:
		b.WriteString(scrollLines(v.cmp.lines(st, w), v.cmp.top, bodyH))
	case v.picking:
		b.WriteString(st.Header.Render("which app, in which environment?") + "\n" + v.pick.view(st, w, "app"))
	default:
		b.WriteString(v.listView(st, w, bodyH))
	}
	return b.String()
}

func (v *releasesView) listView(st common.Styles, w, h int) string {
	var b strings.Builder
	if v.filtering || v.filter.Value() != "" {
		b.WriteString(v.filter.View() + "\n")
		h--
	}
	switch {
	case v.err != nil:
		return b.String() + st.Error.Render(common.Clip(v.err.Error(), w))
	case v.list == nil:
		return b.String() + st.Muted.Render("reading the releases…")
	case len(v.list) == 0:
		return b.String() + st.Muted.Render("no release recorded yet")
	}
	header, row, _ := relTable(v.col, w)
	b.WriteString(st.Header.Render(common.Clip(header, w)) + "\n")
	shown := v.shown()
	h--
	var notes []string // what the release under the cursor broke or was let through
	if v.cursor < len(shown) {
		for _, n := range v.notes {
			if strings.HasPrefix(n, shown[v.cursor].ReleaseID+" ") {
				notes = append(notes, n)
			}
		}
	}
	h = max(1, h-len(notes))
	start := max(0, min(v.cursor-h/2, len(shown)-h))
	for i := start; i < len(shown) && i-start < h; i++ {
		r := shown[i]
		mark := " "
		if v.isMarked(r.ID) {
			mark = "*"
		}
		cur := " " // ">" on the cursor row: seen without colours too
		if i == v.cursor {
			cur = ">"
		}
		line := cur + mark + " " + row(r)
		line = common.Clip(line, w)
		switch {
		case i == v.cursor:
			line = st.Cursor.Render(common.PadRight(line, w))
		case r.Result.Failed():
			line = st.Error.Render(line)
		}
		b.WriteString(line + "\n")
	}
	if len(shown) == 0 {
		b.WriteString(st.Muted.Render("no release matches the filter") + "\n")
	}
	for _, n := range notes {
		b.WriteString(st.Warn.Render(common.Clip(n, w)) + "\n")
	}
	return b.String()
}
