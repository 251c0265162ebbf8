package flows

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui/common"
)

// header is the wizard's title and its steps, the current one lit.
func (*deploySpec) header(f *wizard, width int) []string {
	st := f.env.ctx.Styles
	title := "deploy"
	if f.target.app != "" && f.step > stepTarget {
		title += " " + f.target.String()
	}
	var crumbs []string
	for i, n := range stepNames {
		if i == f.step {
			n = st.Key.Render(fmt.Sprintf("%d %s", i+1, n))
		} else {
			n = st.Muted.Render(fmt.Sprintf("%d %s", i+1, n))
		}
		crumbs = append(crumbs, n)
	}
	return []string{st.Title.Render(common.Clip(title, width)), common.ClipStyled(strings.Join(crumbs, st.Muted.Render(" › ")), width)}
}

func (*deploySpec) pickHeading() (string, string) {
	return "which app, to which environment?", "app or environment"
}

func (s *deploySpec) planBody(f *wizard, width, h int) string {
	return scrollLines(s.previewLines(f, width), f.top, h)
}

func (*deploySpec) strategyBody(f *wizard, width, _ int) string {
	_, plan, err := f.strategyPlan()
	return f.strategy.view(f.env.ctx.Styles, f.env.keys, width, plan, err)
}

// scrollLines shows h of lines from top on.
func scrollLines(lines []string, top, h int) string {
	top = max(0, min(top, len(lines)-h))
	end := min(len(lines), top+h)
	return strings.Join(lines[top:end], "\n")
}

// currentLines say what each host of the environment runs now, as the
// status panel last saw it.
func (r *refStep) currentLines(width int) []string {
	st := r.env.ctx.Styles
	var lines []string
	for _, h := range r.env.fleet.Select(inventory.Filter{Env: r.target.env.Name}) {
		p, probed := r.env.status.Probe(h.Name)
		what := "not probed yet"
		switch {
		case !probed:
		case p.Reachable && p.Release != "":
			what = p.Release + " " + deploy.ShortCommit(p.Commit)
		case p.Reachable:
			what = "no release"
		default:
			what = "unreachable"
		}
		if r.env.status.Drifts(h.Name) {
			what += " (drift)"
		}
		lines = append(lines, common.Clip(fmt.Sprintf("  %-16s %s", h.Name, what), width))
	}
	if len(lines) == 0 {
		return nil
	}
	return append([]string{st.Header.Render("running now on " + r.target.env.Name)}, lines...)
}

// view draws the filter, the refs it lets through and what runs now.
func (r *refStep) view(width, h int) string {
	st := r.env.ctx.Styles
	var b strings.Builder
	// Without a width the input shows only the placeholder's first letter,
	// which reads as a typed "f".
	r.filter.SetWidth(max(10, width-lipgloss.Width(r.filter.Prompt)-1))
	b.WriteString(r.filter.View() + "\n")
	cur := r.currentLines(width)
	listH := max(3, h-1-len(cur)-1)
	shown := r.shown()
	switch {
	case r.refsErr != nil:
		b.WriteString(st.Error.Render(common.Clip(r.refsErr.Error(), width)) + "\n")
	case r.refs == nil:
		b.WriteString(st.Muted.Render("reading the repository…") + "\n")
	case len(shown) == 0:
		b.WriteString(st.Muted.Render(common.Clip("no ref matches: "+common.KeyName(r.env.keys.NextStep)+" deploys what you typed, if git knows it", width)) + "\n")
	}
	start := max(0, min(r.cursor-listH/2, len(shown)-listH))
	for i := start; i < len(shown) && i-start < listH; i++ {
		ref := shown[i]
		cur := "  "
		if i == r.cursor {
			cur = "> "
		}
		line := fmt.Sprintf("%s%-6s %-24s %s  %s", cur, ref.Kind, common.Clip(ref.Name, 24), deploy.ShortCommit(ref.Hash), ref.Subject)
		if ref.Author != "" {
			line += " · " + ref.Author
		}
		if i == r.cursor {
			b.WriteString(st.Cursor.Render(common.PadRight(common.Clip(line, width), width)) + "\n")
		} else {
			b.WriteString(common.Clip(line, width) + "\n")
		}
	}
	b.WriteString("\n" + strings.Join(cur, "\n"))
	return b.String()
}

// warnings are what the operator must know before confirming.
func (*deploySpec) warnings(f *wizard) []string {
	p := f.plan
	out := append([]string(nil), p.Warnings...) // the shared history's: a teammate's deploy, a commit rolled back before
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
	out = append(out, f.env.status.DrainWarnings(f.env.fleet, f.target.env.Name)...)
	if len(p.Behind) > 0 {
		out = append(out, fmt.Sprintf("the target is OLDER than what runs: %d commits running now are not in it — this is a rollback in disguise", len(p.Behind)))
	}
	if p.CurrentCommit != "" && p.CurrentCommit == p.Source.Commit {
		out = append(out, fmt.Sprintf("%s already runs %s (release %s): this deploys it again", f.target.env.Name, deploy.ShortCommit(p.Source.Commit), p.Current))
	}
	return out
}

// previewLines is the preview: what will change, before anyone confirms.
func (s *deploySpec) previewLines(f *wizard, width int) []string {
	st := f.env.ctx.Styles
	switch {
	case f.planErr != nil:
		return []string{st.Error.Render(common.Clip(f.planErr.Error(), width))}
	case !f.loaded:
		return []string{st.Muted.Render("reading what would change (git, the hosts, their locks)…")}
	}
	p := f.plan
	var l []string
	add := func(s string) { l = append(l, common.Clip(s, width)) }
	src := p.Source
	add(fmt.Sprintf("target  %s = %s %s · %s%s", src.Ref, deploy.ShortCommit(src.Commit), src.Subject, src.Author, branchText(src.Branch)))
	if p.Current != "" {
		add(fmt.Sprintf("current release %s (%s)", p.Current, deploy.ShortCommit(p.CurrentCommit)))
	} else {
		add("no successful release recorded yet: everything is new")
	}
	if ws := s.warnings(f); len(ws) > 0 {
		l = append(l, "", st.Warn.Render("warnings"))
		for _, s := range ws {
			l = append(l, st.Warn.Render(common.Clip("  ! "+s, width)))
		}
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("hosts (%d)", len(p.Hosts))))
	for _, h := range p.Hosts {
		s := fmt.Sprintf("  %-16s ", h.Host)
		switch {
		case !h.Reachable:
			l = append(l, st.Error.Render(common.Clip(s+"unreachable "+h.Err, width)))
			continue
		case h.Release == "":
			s += "no release yet"
		default:
			s += h.Release + " " + deploy.ShortCommit(h.Commit)
		}
		if p.CurrentCommit != "" && h.Commit != "" && h.Commit != p.CurrentCommit {
			l = append(l, st.Warn.Render(common.Clip(s+"  DRIFT: not the environment's release "+p.Current, width)))
			continue
		}
		add(s)
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("commits it brings (%d)", len(p.Commits))))
	for _, c := range p.Commits {
		add(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(c.Hash), common.Clip(c.Author, 18), c.Subject))
	}
	if len(p.Behind) > 0 {
		l = append(l, "", st.Warn.Render(fmt.Sprintf("commits it takes away (%d)", len(p.Behind))))
		for _, c := range p.Behind {
			l = append(l, st.Warn.Render(common.Clip(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(c.Hash), common.Clip(c.Author, 18), c.Subject), width)))
		}
	}
	if p.Diffstat != "" {
		l = append(l, "", st.Header.Render("diffstat"))
		for _, s := range strings.Split(strings.TrimRight(p.Diffstat, "\n"), "\n") {
			add("  " + strings.TrimSpace(s))
		}
	}
	when := "run once, on the migration host, before the switch"
	if p.Plan != nil && p.Plan.App.MigrateCommand() == "" {
		when = "NOT run: the app has no migrate command"
	}
	fresh, applied := deploy.SplitNewMigrations(p.Migrations, p.MigrationCheck)
	if len(fresh) > 0 || len(applied) == 0 {
		l = append(l, "", st.Header.Render(fmt.Sprintf("new migrations (%d): %s", len(fresh), when)))
	}
	for _, m := range fresh {
		add("  " + m)
	}
	if len(applied) > 0 {
		l = append(l, "", st.Header.Render(fmt.Sprintf("migrations the database already has (%d): not run again", len(applied))))
		for _, m := range applied {
			add("  " + m)
		}
	}
	l = append(l, envChangeLines(st, p.Plan, width)...)
	l = append(l, buildLines(st, p.Plan, width)...)
	if len(p.Requirements) > 0 {
		l = append(l, "", st.Warn.Render("requirements change: "+strings.Join(p.Requirements, ", ")))
	}
	for _, h := range slices.Sorted(maps.Keys(p.Unmet)) {
		for _, w := range p.Unmet[h] {
			l = append(l, st.Warn.Render(common.Clip(fmt.Sprintf("  ! %s: requirements: %s", h, w), width)))
		}
	}
	l = append(l, safetyLines(st, p, width)...)
	l = append(l, s.maintenanceLines(f, width)...)
	return l
}

func branchText(b string) string {
	if b == "" {
		return ""
	}
	return " · branch " + b
}

// confirmBody asks to deploy the plan confirmed, the warnings above.
func (s *deploySpec) confirmBody(f *wizard, width int) string {
	st := f.env.ctx.Styles
	p := f.planned.Plan
	strategy := p.Strategy
	q := fmt.Sprintf("Deploy %s %s (%s) to %s: %d hosts, %s", p.App.Name, deploy.ShortCommit(p.Source.Commit), p.Source.Subject,
		p.Env.Name, len(p.Hosts), strategy.Kind)
	if len(strategy.Batches) > 0 {
		q += " " + strategy.Batches.String()
	}
	if s.withMaintenance(f.planned).Maintenance {
		q += ", in maintenance mode from the migration to the last switch"
	}
	q += "?"
	var b strings.Builder
	for _, ws := range append(s.warnings(f), s.choices.confirmLines(p)...) {
		b.WriteString(st.Warn.Render(common.Clip("! "+ws, width)) + "\n")
	}
	b.WriteString(f.confirm.view(st, width, q, f.env.keys))
	return b.String()
}

// doneBody is the summary: the outcome, failures first, and what next.
func (*deploySpec) doneBody(f *wizard, width int) string {
	st := f.env.ctx.Styles
	k := f.env.keys
	var b strings.Builder
	b.WriteString(st.Header.Render("summary") + "\n")
	for _, l := range outcomeLines(st, f.outcome(), f.runner.err) {
		b.WriteString(common.ClipStyled(l, width) + "\n")
	}
	var keys string
	if releaseLive(f.outcome()) {
		keys = st.Key.Render(common.KeyName(k.Rollback)) + st.Muted.Render(" roll back to the previous release · ")
	}
	keys += st.Key.Render(common.KeyName(k.NextStep)) + st.Muted.Render(" the hosts' output · ") + st.Key.Render(common.KeyName(k.Back)) + st.Muted.Render(" back to the fleet")
	b.WriteString("\n" + common.ClipStyled(keys, width))
	return b.String()
}
