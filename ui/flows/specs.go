package flows

import (
	"context"
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

func newRollbackFlow(env *Env, envName, app, to string) (Flow, tea.Cmd) {
	s := &rollbackSpec{fns: env.fns}
	s.plainLook.spec = s
	return newOpFlow[ops.RollbackPreview, *deploy.Outcome](env, s, envName, app, to)
}

func newMigrateFlow(env *Env, envName string) (Flow, tea.Cmd) {
	s := &migrateSpec{fns: env.fns}
	s.plainLook.spec = s
	return newOpFlow[ops.MigrationPlan, deploy.MigrationResult](env, s, envName, "", "")
}

func newFlushFlow(env *Env, envName string) (Flow, tea.Cmd) {
	s := &flushSpec{fns: env.fns, toggleKey: common.KeyName(env.keys.Toggle)}
	s.plainLook.spec = s
	return newOpFlow[[]cache.Spec, []cache.Result](env, s, envName, "", "")
}

// noArg is the argument step of a flow without one.
type noArg struct{}

func (noArg) argStep() argStep { return nil }

// planErr says which plan could not be read.
func planErr(name string, t pickItem, err error) error {
	if err != nil {
		return fmt.Errorf("%s %s: %w", name, t, err)
	}
	return nil
}

// noStrategy is the strategy step of a flow without one.
type noStrategy[P any] struct{}

func (noStrategy[P]) newStrategy(pickItem) (strategyForm, bool) { return strategyForm{}, false }
func (noStrategy[P]) batched(p P, _ deploy.Strategy) (P, *deploy.Plan, error) {
	return p, nil, fmt.Errorf("no strategy step")
}

// rollbackSpec: choose a recorded release (the previous good one first),
// see what goes away, confirm, run.
type rollbackSpec struct {
	plainLook[ops.RollbackPreview, *deploy.Outcome]
	noArg
	fns Flows
}

func (rollbackSpec) name() string  { return "roll back" }
func (rollbackSpec) envOnly() bool { return false }
func (s rollbackSpec) loadPlan(ctx context.Context, t pickItem, to string) (ops.RollbackPreview, error) {
	p, err := s.fns.RollbackPreview(ctx, t.app, t.env.Name, to)
	return p, planErr(s.name(), t, err)
}
func (rollbackSpec) rows(p ops.RollbackPreview) int { return len(p.Candidates) }
func (rollbackSpec) moved(p ops.RollbackPreview, i int) (string, bool) {
	return p.Candidates[i].ReleaseID, true
}
func (rollbackSpec) toggle(ops.RollbackPreview, int)          {}
func (rollbackSpec) ready(ops.RollbackPreview) (bool, string) { return true, "" }

func (rollbackSpec) planLines(st common.Styles, p ops.RollbackPreview, cursor, w int) []string {
	var l []string
	add := func(s string) { l = append(l, common.Clip(s, w)) }
	add(fmt.Sprintf("now     %s  %s %s", p.From.ReleaseID, deploy.ShortCommit(p.From.Commit), p.From.Subject))
	add(fmt.Sprintf("back to %s  %s %s", p.Target.ReleaseID, deploy.ShortCommit(p.Target.Commit), p.Target.Subject))
	l = append(l, "", st.Header.Render("releases to go back to (↑/↓)"))
	for i, r := range p.Candidates {
		cur := "  "
		if i == cursor {
			cur = "> "
		}
		s := fmt.Sprintf("%s%s  %s  %-11s %s · %s", cur, r.ReleaseID, deploy.ShortCommit(r.Commit), r.Result.Words(), r.Subject, r.Operator)
		if i == cursor {
			s = st.Cursor.Render(common.PadRight(common.Clip(s, w), w))
		} else {
			s = common.Clip(s, w)
		}
		l = append(l, s)
	}
	l = append(l, "", st.Header.Render(fmt.Sprintf("what goes away: %s", deploy.Plural(len(p.Commits), "commit", "commits"))))
	for _, c := range p.Commits {
		add(fmt.Sprintf("  %s  %-18s %s", deploy.ShortCommit(c.Hash), common.Clip(c.Author, 18), c.Subject))
	}
	for _, r := range p.Undone {
		add(fmt.Sprintf("  undoes release %s (%s %s)", r.ReleaseID, deploy.ShortCommit(r.Commit), r.Subject))
	}
	if len(p.Migrated) > 0 {
		var ids []string
		for _, r := range p.Migrated {
			ids = append(ids, r.ReleaseID)
		}
		l = append(l, "")
		for _, s := range common.WrapIndented("Migrations are NOT reversed: releases "+strings.Join(ids, ", ")+
			" applied database migrations. The code goes back, the schema stays.", w) {
			l = append(l, st.Error.Render(s))
		}
		for _, m := range p.Meets {
			for _, s := range common.WrapIndented("  "+m, w) {
				l = append(l, st.Error.Render(s))
			}
		}
	} else {
		l = append(l, "", st.Muted.Render(common.Clip("no undone release applied migrations (migrations are never reversed by a rollback)", w)))
	}
	return l
}

func (rollbackSpec) question(t pickItem, p ops.RollbackPreview) string {
	return fmt.Sprintf("Roll %s on %s back from %s to %s (%s)?", t.app, t.env.Name, p.From.ReleaseID, p.Target.ReleaseID, deploy.ShortCommit(p.Target.Commit))
}

func (rollbackSpec) newStrategy(t pickItem) (strategyForm, bool) { return newRollbackStrategy(t), true }

func (rollbackSpec) planEnv(plan ops.RollbackPreview) (inventory.Environment, bool) {
	if p := plan.Plan; p != nil {
		return p.Plan.Env, true
	}
	return inventory.Environment{}, false
}

// batched is the preview's rollback in strategy's batches
// (RollbackPlan.WithStrategy): the same choice, hosts and inventory.
func (rollbackSpec) batched(p ops.RollbackPreview, strategy deploy.Strategy) (ops.RollbackPreview, *deploy.Plan, error) {
	if p.Plan == nil {
		return ops.RollbackPreview{}, nil, fmt.Errorf("the preview has no plan")
	}
	rp, err := p.Plan.WithStrategy(strategy)
	if err != nil {
		return ops.RollbackPreview{}, nil, err
	}
	p.Plan = rp
	return p, rp.Plan, nil
}

// start runs the rollback confirmed, the very plan batched: the engine
// checks it against the inventory and the releases again and refuses it,
// saying what changed, when they are no longer those it was made from.
func (s rollbackSpec) work(t pickItem, p ops.RollbackPreview, strategy deploy.Strategy) opWork[*deploy.Outcome] {
	rp, fn := p.Plan, s.fns.Rollback
	return opWork[*deploy.Outcome]{kind: "rollback", what: fmt.Sprintf("%s on %s to %s (%s)", t.app, t.env.Name, p.Target.ReleaseID, strategy.Kind), hosts: p.Hosts,
		run: func(ctx context.Context, io ops.IO) (*deploy.Outcome, remote.Result, error) {
			out, err := fn(ctx, rp, io)
			return out, outcomeResult(out), err
		}}
}

func (rollbackSpec) resultLines(st common.Styles, out *deploy.Outcome, err error, _ int) []string {
	return append([]string{st.Header.Render("rollback")}, outcomeLines(st, out, err)...)
}

// migrateSpec: the pending migrations, confirm, run once on the
// migration host.
type migrateSpec struct {
	plainLook[ops.MigrationPlan, deploy.MigrationResult]
	noArg
	noStrategy[ops.MigrationPlan]
	fns Flows
}

func (migrateSpec) name() string  { return "migrate" }
func (migrateSpec) envOnly() bool { return false }
func (s migrateSpec) loadPlan(ctx context.Context, t pickItem, _ string) (ops.MigrationPlan, error) {
	p, err := s.fns.MigrationPlan(ctx, t.app, t.env.Name)
	return p, planErr(s.name(), t, err)
}
func (migrateSpec) rows(ops.MigrationPlan) int                  { return 0 }
func (migrateSpec) moved(ops.MigrationPlan, int) (string, bool) { return "", false }
func (migrateSpec) toggle(ops.MigrationPlan, int)               {}

func (migrateSpec) ready(p ops.MigrationPlan) (bool, string) {
	switch {
	case p.Command == "":
		return false, "the app has no migrate command"
	case p.Plan == nil:
		return false, "the preview has no plan"
	}
	return true, ""
}

func (migrateSpec) planEnv(plan ops.MigrationPlan) (inventory.Environment, bool) {
	if p := plan.Plan; p != nil {
		return p.Plan.Env, true
	}
	return inventory.Environment{}, false
}

func (migrateSpec) planLines(st common.Styles, p ops.MigrationPlan, _, w int) []string {
	l := []string{common.Clip(fmt.Sprintf("runs %q once on %s, in release %s, under the deploy lock", p.Command, p.Host, orDash(p.Release)), w), ""}
	switch {
	case p.Output != "" && p.Pending == nil:
		l = append(l, st.Header.Render("the plan command said:"))
		for _, s := range strings.Split(strings.TrimRight(p.Output, "\n"), "\n") {
			l = append(l, common.Clip("  "+s, w))
		}
	case len(p.Pending) == 0:
		l = append(l, st.OK.Render(fmt.Sprintf("no migration pending (%d applied)", p.Total)))
	default:
		l = append(l, st.Header.Render(fmt.Sprintf("%d of %d migrations pending", len(p.Pending), p.Total)))
		for _, m := range p.Pending {
			l = append(l, common.Clip("  "+m, w))
		}
	}
	return l
}

func (migrateSpec) question(t pickItem, p ops.MigrationPlan) string {
	return fmt.Sprintf("Run %q on %s (%s)?", p.Command, p.Host, t.env.Name)
}

// start runs the migrate previewed, the very plan: the engine checks it
// against the inventory and the releases again and refuses it when they
// changed (a release recorded since would be migrated unseen).
func (s migrateSpec) work(t pickItem, p ops.MigrationPlan, _ deploy.Strategy) opWork[deploy.MigrationResult] {
	mp, fn := p.Plan, s.fns.Migrate
	return opWork[deploy.MigrationResult]{kind: "migrate", what: fmt.Sprintf("%s on %s", t.app, t.env.Name), hosts: []string{p.Host},
		run: func(ctx context.Context, io ops.IO) (deploy.MigrationResult, remote.Result, error) {
			res, err := fn(ctx, mp, io)
			return res, outcomeResult(res.Outcome), err
		}}
}

func (migrateSpec) resultLines(st common.Styles, res deploy.MigrationResult, err error, _ int) []string {
	l := []string{st.Header.Render("migrate")}
	l = append(l, outcomeLines(st, res.Outcome, err)...)
	if res.Outcome == nil && err == nil {
		l = append(l, st.OK.Render("done on "+res.Host))
	}
	if res.Applied {
		l = append(l, st.OK.Render("migrations applied; the current release is recorded as migrated"))
	}
	return l
}

// flushSpec: the environment's cache hosts (all chosen; space leaves one
// out), confirm, run, a result per host.
type flushSpec struct {
	plainLook[[]cache.Spec, []cache.Result]
	noArg
	noStrategy[[]cache.Spec]
	fns       Flows
	off       map[string]bool // hosts left out
	toggleKey string          // the toggle's key, for the hints
}

func (*flushSpec) name() string  { return "flush caches" }
func (*flushSpec) envOnly() bool { return true }
func (s *flushSpec) loadPlan(ctx context.Context, t pickItem, _ string) ([]cache.Spec, error) {
	p, err := s.fns.FlushPlan(ctx, t.env.Name)
	return p, planErr(s.name(), t, err)
}
func (*flushSpec) rows(p []cache.Spec) int                { return len(p) }
func (*flushSpec) moved([]cache.Spec, int) (string, bool) { return "", false }

// planEnv: a flush's plan does not say; the picker's environment stands.
func (*flushSpec) planEnv([]cache.Spec) (inventory.Environment, bool) {
	return inventory.Environment{}, false
}

func (s *flushSpec) toggle(p []cache.Spec, i int) {
	if s.off == nil {
		s.off = map[string]bool{}
	}
	h := p[i].Host
	s.off[h] = !s.off[h]
}

func (s *flushSpec) chosen(p []cache.Spec) []cache.Spec {
	var out []cache.Spec
	for _, t := range p {
		if !s.off[t.Host] {
			out = append(out, t)
		}
	}
	return out
}

func (s *flushSpec) ready(p []cache.Spec) (bool, string) {
	if len(s.chosen(p)) == 0 {
		return false, "no cache host chosen (" + s.toggleKey + " chooses)"
	}
	return true, ""
}

func (s *flushSpec) planLines(st common.Styles, p []cache.Spec, cursor, w int) []string {
	l := []string{st.Header.Render("cache hosts (" + s.toggleKey + " leaves one out)")}
	for i, t := range p {
		mark := "[x]"
		if s.off[t.Host] {
			mark = "[ ]"
		}
		cur := "  "
		if i == cursor {
			cur = "> "
		}
		line := fmt.Sprintf("%s%s %-16s %s", cur, mark, t.Host, t.Server())
		if i == cursor {
			line = st.Cursor.Render(common.PadRight(common.Clip(line, w), w))
		} else {
			line = common.Clip(line, w)
		}
		l = append(l, line)
	}
	return l
}

func (s *flushSpec) question(t pickItem, p []cache.Spec) string {
	n := len(s.chosen(p))
	return fmt.Sprintf("Flush %s of %s? Every key in them is lost.", deploy.Plural(n, "cache", "caches"), t.env.Name)
}

func (s *flushSpec) work(t pickItem, p []cache.Spec, _ deploy.Strategy) opWork[[]cache.Result] {
	var hosts []string
	for _, c := range s.chosen(p) {
		hosts = append(hosts, c.Host)
	}
	fn := s.fns.Flush
	return opWork[[]cache.Result]{kind: "flush", what: t.env.Name, hosts: hosts, run: func(ctx context.Context, io ops.IO) ([]cache.Result, remote.Result, error) {
		rs, err := fn(ctx, t.env.Name, hosts, io)
		hrs := make([]remote.HostResult, len(rs))
		for i, r := range rs {
			hrs[i] = remote.HostResult{Host: r.Host, Status: remote.StatusOK, Duration: r.Duration}
			if !r.OK() {
				hrs[i].Status, hrs[i].Class = remote.StatusFailed, remote.ClassExit
			}
		}
		return rs, remote.NewResult(hrs, 0), err
	}}
}

func (*flushSpec) resultLines(st common.Styles, rs []cache.Result, err error, w int) []string {
	l := []string{st.Header.Render(fmt.Sprintf("%-16s %-28s %-20s %s", "HOST", "CACHE", "KEYS BEFORE → AFTER", "RESULT"))}
	if err != nil {
		l = append(l, st.Error.Render(common.Clip("error: "+errText(err), w)))
	}
	for _, failed := range []bool{true, false} {
		for _, x := range rs {
			if x.OK() == failed {
				continue
			}
			line := fmt.Sprintf("%-16s %-28s %-20s ", x.Host, common.Clip(x.Server, 28), x.Keys())
			if x.OK() {
				l = append(l, st.OK.Render(common.Clip(line+"ok", w)))
			} else {
				l = append(l, st.Error.Render(common.Clip(line+"failed: "+errString(x.Err), w)))
			}
		}
	}
	return l
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
