package ui

import (
	"fmt"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

// View draws the wizard: its title and steps, then the step's content.
func (w *wizard) View() string {
	width, h := w.env.size()
	st := w.env.ctx.Styles
	var b strings.Builder
	title := "deploy"
	if w.target.app != "" && w.step > stepTarget {
		title += " " + w.target.String()
	}
	b.WriteString(st.Title.Render(clip(title, width)) + "\n")
	var crumbs []string
	for i, n := range stepNames {
		if wizStep(i) == w.step {
			n = st.Key.Render(fmt.Sprintf("%d %s", i+1, n))
		} else {
			n = st.Muted.Render(fmt.Sprintf("%d %s", i+1, n))
		}
		crumbs = append(crumbs, n)
	}
	b.WriteString(clipStyled(strings.Join(crumbs, st.Muted.Render(" › ")), width) + "\n")
	if w.note != "" {
		b.WriteString(st.Warn.Render(clip(w.note, width)) + "\n")
	}
	bodyH := max(3, h-strings.Count(b.String(), "\n"))
	var body string
	switch w.step {
	case stepTarget:
		body = st.Header.Render("which app, to which environment?") + "\n" + w.pick.view(st, width, "app or environment")
	case stepRef:
		body = w.refView(width, bodyH)
	case stepPreview:
		body = scrollLines(w.previewLines(width), w.previewTop, bodyH)
	case stepStrategy:
		plan, err := w.plan()
		body = w.strategy.view(st, w.env.keys, width, plan, err)
	case stepConfirm:
		body = w.confirmView(width)
	case stepRun:
		body = w.runner.view(width, bodyH)
	case stepSummary:
		if w.showPanes {
			body = w.runner.view(width, bodyH)
		} else {
			body = w.summaryView(width)
		}
	}
	b.WriteString(body)
	return b.String()
}

// scrollLines shows h of lines from top on.
func scrollLines(lines []string, top, h int) string {
	top = max(0, min(top, len(lines)-h))
	end := min(len(lines), top+h)
	return strings.Join(lines[top:end], "\n")
}

// currentLines say what each host of the environment runs now, as the
// status panel last saw it.
func (w *wizard) currentLines(width int) []string {
	st := w.env.ctx.Styles
	var lines []string
	for _, h := range w.env.fleet.Select(inventory.Filter{Env: w.target.env.Name}) {
		s := w.env.status.state(h.Name)
		what := "not probed yet"
		switch {
		case s == nil:
		case s.probe.Reachable && s.probe.Release != "":
			what = s.probe.Release + " " + deploy.ShortCommit(s.probe.Commit)
		case s.probe.Reachable:
			what = "no release"
		default:
			what = "unreachable"
		}
		if w.env.status.drift[h.Name] {
			what += " (drift)"
		}
		lines = append(lines, clip(fmt.Sprintf("  %-16s %s", h.Name, what), width))
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{st.Header.Render("running now on " + w.target.env.Name)}, lines...)
}

func (w *wizard) refView(width, h int) string {
	st := w.env.ctx.Styles
	var b strings.Builder
	// Without a width the input shows only the placeholder's first letter,
	// which reads as a typed "f".
	w.filter.SetWidth(max(10, width-lipgloss.Width(w.filter.Prompt)-1))
	b.WriteString(w.filter.View() + "\n")
	cur := w.currentLines(width)
	listH := max(3, h-1-len(cur)-1)
	shown := w.shownRefs()
	switch {
	case w.refsErr != nil:
		b.WriteString(st.Error.Render(clip(w.refsErr.Error(), width)) + "\n")
	case w.refs == nil:
		b.WriteString(st.Muted.Render("reading the repository…") + "\n")
	case len(shown) == 0:
		b.WriteString(st.Muted.Render(clip("no ref matches: "+keyName(w.env.keys.NextStep)+" deploys what you typed, if git knows it", width)) + "\n")
	}
	start := max(0, min(w.refCursor-listH/2, len(shown)-listH))
	for i := start; i < len(shown) && i-start < listH; i++ {
		r := shown[i]
		line := fmt.Sprintf("%-6s %-24s %s  %s", r.Kind, clip(r.Name, 24), deploy.ShortCommit(r.Hash), r.Subject)
		if r.Author != "" {
			line += " · " + r.Author
		}
		if i == w.refCursor {
			b.WriteString(st.Cursor.Render(padRight(clip(line, width), width)) + "\n")
		} else {
			b.WriteString(clip(line, width) + "\n")
		}
	}
	b.WriteString("\n" + strings.Join(cur, "\n"))
	return b.String()
}

// warnings are what the operator must know before confirming.
func (w *wizard) warnings() []string {
	p := w.preview
	var out []string
	var locked, down []string
	for _, h := range p.Hosts {
		if h.Lock != "" {
			locked = append(locked, h.Host+" ("+h.Lock+")")
		}
		if !h.Reachable {
			down = append(down, h.Host)
		}
	}
	if len(locked) > 0 {
		out = append(out, "deploy lock held on "+strings.Join(locked, ", ")+": the deploy will not start until it is released")
	}
	if p.Source.Dirty {
		out = append(out, "the repository has uncommitted changes: only commit "+deploy.ShortCommit(p.Source.Commit)+" is shipped")
	}
	if len(down) > 0 {
		out = append(out, "unreachable: "+strings.Join(down, ", "))
	}
	out = append(out, w.env.status.drainWarnings(w.env.fleet, w.target.env.Name)...)
	if len(p.Behind) > 0 {
		out = append(out, fmt.Sprintf("the target is OLDER than what runs: %d commits running now are not in it — this is a rollback in disguise", len(p.Behind)))
	}
	if p.CurrentCommit != "" && p.CurrentCommit == p.Source.Commit {
		out = append(out, fmt.Sprintf("%s already runs %s (release %s): this deploys it again", w.target.env.Name, deploy.ShortCommit(p.Source.Commit), p.Current))
	}
	return out
}

// previewLines is the preview: what will change, before anyone confirms.
func (w *wizard) previewLines(width int) []string {
	st := w.env.ctx.Styles
	switch {
	case w.previewErr != nil:
		return []string{st.Error.Render(clip(w.previewErr.Error(), width))}
	case w.preview == nil:
		return []string{st.Muted.Render("reading what would change (git, the hosts, their locks)…")}
	}
	p := w.preview
	var l []string
	add := func(s string) { l = append(l, clip(s, width)) }
	src := p.Source
	add(fmt.Sprintf("target  %s = %s %s · %s%s", src.Ref, deploy.ShortCommit(src.Commit), src.Subject, src.Author, branchText(src.Branch)))
	if p.Current != "" {
		add(fmt.Sprintf("current release %s (%s)", p.Current, deploy.ShortCommit(p.CurrentCommit)))
	} else {
		add("no successful release recorded yet: everything is new")
	}
	if ws := w.warnings(); len(ws) > 0 {
		l = append(l, "", st.Warn.Render("warnings"))
		for _, s := range ws {
			l = append(l, st.Warn.Render(clip("  ! "+s, width)))
		}
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("hosts (%d)", len(p.Hosts))))
	for _, h := range p.Hosts {
		s := fmt.Sprintf("  %-16s ", h.Host)
		switch {
		case !h.Reachable:
			l = append(l, st.Error.Render(clip(s+"unreachable "+h.Err, width)))
			continue
		case h.Release == "":
			s += "no release yet"
		default:
			s += h.Release + " " + deploy.ShortCommit(h.Commit)
		}
		if p.CurrentCommit != "" && h.Commit != "" && h.Commit != p.CurrentCommit {
			l = append(l, st.Warn.Render(clip(s+"  DRIFT: not the environment's release "+p.Current, width)))
			continue
		}
		add(s)
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("commits it brings (%d)", len(p.Commits))))
	for _, c := range p.Commits {
		add(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(c.Hash), clip(c.Author, 18), c.Subject))
	}
	if len(p.Behind) > 0 {
		l = append(l, "", st.Warn.Render(fmt.Sprintf("commits it takes away (%d)", len(p.Behind))))
		for _, c := range p.Behind {
			l = append(l, st.Warn.Render(clip(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(c.Hash), clip(c.Author, 18), c.Subject), width)))
		}
	}
	if p.Diffstat != "" {
		l = append(l, "", st.Header.Render("diffstat"))
		for _, s := range strings.Split(strings.TrimRight(p.Diffstat, "\n"), "\n") {
			add("  " + strings.TrimSpace(s))
		}
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("new migrations (%d): run once, on the migration host, before the switch", len(p.Migrations))))
	for _, m := range p.Migrations {
		add("  " + m)
	}
	if len(p.Requirements) > 0 {
		l = append(l, "", st.Warn.Render("requirements change: "+strings.Join(p.Requirements, ", ")))
	}
	return l
}

func branchText(b string) string {
	if b == "" {
		return ""
	}
	return " · branch " + b
}

func (w *wizard) confirmView(width int) string {
	st := w.env.ctx.Styles
	p := w.planned
	s := p.Strategy
	q := fmt.Sprintf("Deploy %s %s (%s) to %s: %d hosts, %s", p.App.Name, deploy.ShortCommit(p.Source.Commit), p.Source.Subject,
		p.Env.Name, len(p.Hosts), s.Kind)
	if len(s.Batches) > 0 {
		q += " " + s.Batches.String()
	}
	q += "?"
	var b strings.Builder
	for _, ws := range w.warnings() {
		b.WriteString(st.Warn.Render(clip("! "+ws, width)) + "\n")
	}
	b.WriteString(w.confirm.view(st, width, q, w.env.keys))
	return b.String()
}

func (w *wizard) summaryView(width int) string {
	st := w.env.ctx.Styles
	k := w.env.keys
	var b strings.Builder
	b.WriteString(st.Header.Render("summary") + "\n")
	for _, l := range outcomeLines(st, w.lastOutcome, w.runner.err) {
		b.WriteString(clipStyled(l, width) + "\n")
	}
	var keys string
	if w.releaseLive() {
		keys = st.Key.Render(keyName(k.Rollback)) + st.Muted.Render(" roll back to the previous release · ")
	}
	keys += st.Key.Render(keyName(k.NextStep)) + st.Muted.Render(" the hosts' output · ") + st.Key.Render(keyName(k.Back)) + st.Muted.Render(" back to the fleet")
	b.WriteString("\n" + clipStyled(keys, width))
	return b.String()
}
