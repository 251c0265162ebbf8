package ui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

// fakeFlows is an engine for the flows that records what it was asked.
type fakeFlows struct {
	mu           sync.Mutex
	fleet        *inventory.Fleet // the inventory previews are made from
	now          *inventory.Fleet // the inventory a deploy finds (nil: fleet's)
	calls        map[string]int
	previewed    []*deploy.Plan
	deployed     []*deploy.Plan
	rolledTo     []string
	rollStrategy []deploy.Strategy
	rollPreviews []*deploy.RollbackPlan // the rollbacks previewed
	rolledBack   []*deploy.RollbackPlan // the rollbacks run
	migPreviews  []*deploy.MigratePlan  // the migrates previewed
	migrated     []*deploy.MigratePlan  // the migrates run
	flushed      [][]string
	hosts        []string // the staging web hosts
	canaryAns    []bool
}

func (f *fakeFlows) count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeFlows) hit(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[name]++
}

// changes is how many calls changed hosts.
func (f *fakeFlows) changes() int {
	return f.count("deploy") + f.count("rollback") + f.count("migrate") + f.count("flush")
}

func newFakeFlows(fl *inventory.Fleet) *fakeFlows {
	f := &fakeFlows{fleet: fl, calls: map[string]int{}}
	for _, h := range fl.Select(inventory.Filter{Env: "staging", Role: "web"}) {
		f.hosts = append(f.hosts, h.Name)
	}
	return f
}

func (f *fakeFlows) outcome(id string, hosts []string) *deploy.Outcome {
	out := &deploy.Outcome{ReleaseID: id, Record: 7, RunID: 42, Result: "success", Timing: deploy.Timing{Total: 3 * time.Second}}
	for _, h := range hosts {
		out.Hosts = append(out.Hosts, deploy.HostOutcome{Host: h, Status: deploy.HostOK, Duration: time.Second, Release: id})
	}
	return out
}

func (f *fakeFlows) fns() Flows {
	return Flows{
		Refs: func(context.Context, string) ([]ops.Ref, error) {
			f.hit("refs")
			return []ops.Ref{{Name: "main", Kind: "branch", Hash: "c2c2c2c2c2c2", Subject: "add checkout", Author: "ann"},
				{Name: "v1.0", Kind: "tag", Hash: "b1b1b1b1b1b1", Subject: "first release", Author: "bob"},
				{Name: "a0a0a0a0a0a0", Kind: "commit", Hash: "a0a0a0a0a0a0", Subject: "initial", Author: "bob"}}, nil
		},
		Preview: func(_ context.Context, app, env, ref string) (ops.Preview, error) {
			f.hit("preview")
			p := ops.Preview{Source: deploy.Source{Ref: ref, Commit: "c2c2c2c2c2c2c2c2", Subject: "add checkout", Author: "ann", Branch: ref, Dirty: true},
				Current: "20260101000000", CurrentCommit: "b1b1b1b1b1b1b1b1",
				Commits:      []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
				Behind:       []deploy.Commit{{Hash: "d3d3d3d3d3d3", Author: "cy", Subject: "hotfix only in prod"}},
				Diffstat:     " shop/views.py | 12 ++++++\n 1 file changed",
				Migrations:   []string{"shop/migrations/0002_cart.py"},
				Requirements: []string{"requirements.txt"}}
			hosts := f.hosts
			if env == "production" {
				hosts = []string{"web1", "web2"}
			}
			plan, err := f.plan(app, env, hosts, p.Source)
			if err != nil {
				return p, err
			}
			p.Plan = plan
			for i, h := range hosts {
				hr := ops.HostRelease{Host: h, Reachable: true, Release: "20260101000000", Commit: "b1b1b1b1b1b1b1b1"}
				if i == 0 {
					hr.Commit, hr.Lock = "e4e4e4e4", "carol@laptop"
				}
				p.Hosts = append(p.Hosts, hr)
			}
			p.Hosts = append(p.Hosts, ops.HostRelease{Host: "ghost", Err: "dial: refused"})
			return p, nil
		},
		Deploy: func(ctx context.Context, p *deploy.Plan, io ops.IO) (*deploy.Outcome, error) {
			f.hit("deploy")
			f.mu.Lock()
			f.deployed = append(f.deployed, p)
			now := f.now
			f.mu.Unlock()
			// As deploy.Execute does: a plan whose inventory changed is refused.
			if now != nil {
				if ch := p.Changes(now); len(ch) > 0 {
					return nil, &deploy.FleetChangedError{App: p.App.Name, Env: p.Env.Name, Changes: ch}
				}
			}
			var hosts []string
			for _, h := range p.Hosts {
				hosts = append(hosts, h.Name)
				io.Emit(remote.Event{Host: h.Name, Kind: remote.EventStage, Line: "upload", Step: 1, Steps: 4})
			}
			io.Say("batch 1 of 2")
			if p.Strategy.Kind == deploy.StrategyCanary {
				ok, err := io.Confirm(ctx, "canary web serves release R1: continue with the other hosts?")
				if err != nil {
					return nil, err
				}
				f.mu.Lock()
				f.canaryAns = append(f.canaryAns, ok)
				f.mu.Unlock()
				if !ok {
					out := f.outcome("R1", hosts)
					out.Result = "aborted"
					return out, nil
				}
			}
			return f.outcome("R1", hosts), nil
		},
		RollbackPreview: func(_ context.Context, app, env, to string) (ops.RollbackPreview, error) {
			f.hit("rollbackPreview")
			hosts := f.hosts
			if env == "production" {
				hosts = []string{"web1", "web2"}
			}
			prev := store.Release{ID: 1, ReleaseID: "R0", Commit: "b1b1b1b1b1b1", Subject: "first release", Result: store.ReleaseSuccess}
			older := store.Release{ID: 0, ReleaseID: "Rm1", Commit: "a0a0a0a0a0a0", Subject: "initial", Result: store.ReleaseSuccess}
			target := prev
			if to == "Rm1" {
				target = older
			}
			// As deploy.PreviewRollback plans it: to the target, in the
			// environment's default strategy.
			e, _ := f.fleet.Environment(env)
			p, err := f.newPlan(app, env, hosts, deploy.Source{Ref: target.ReleaseID, Commit: target.Commit, Subject: target.Subject},
				target.ReleaseID, deploy.DefaultStrategy(e))
			if err != nil {
				return ops.RollbackPreview{}, err
			}
			rp := &deploy.RollbackPlan{Plan: p, Choice: deploy.RollbackChoice{
				From:   store.Release{App: app, Env: env, ReleaseID: "R1", Commit: "c2c2c2c2c2c2"},
				Target: store.Release{App: app, Env: env, ReleaseID: target.ReleaseID, Commit: target.Commit, Subject: target.Subject}}}
			f.mu.Lock()
			f.rollPreviews = append(f.rollPreviews, rp)
			f.mu.Unlock()
			return ops.RollbackPreview{Plan: rp, From: store.Release{ReleaseID: "R1", Commit: "c2c2c2c2c2c2"}, Target: target,
				Candidates: []store.Release{prev, older}, Undone: []store.Release{{ReleaseID: "R1", MigrationsApplied: true}},
				Migrated: []store.Release{{ReleaseID: "R1"}}, Commits: []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
				Hosts: hosts}, nil
		},
		Rollback: func(_ context.Context, rp *deploy.RollbackPlan, io ops.IO) (*deploy.Outcome, error) {
			f.hit("rollback")
			to := rp.Choice.Target.ReleaseID
			f.mu.Lock()
			f.rolledBack = append(f.rolledBack, rp)
			f.rolledTo = append(f.rolledTo, to)
			f.rollStrategy = append(f.rollStrategy, rp.Plan.Strategy)
			f.mu.Unlock()
			var hosts []string
			for _, h := range rp.Plan.Hosts {
				hosts = append(hosts, h.Name)
			}
			return f.outcome(to, hosts), nil
		},
		MigrationPlan: func(_ context.Context, app, env string) (ops.MigrationPlan, error) {
			f.hit("migrationPlan")
			// As deploy.PreviewMigrate plans it: the current release on the
			// migration host.
			p, err := f.newPlan(app, env, f.hosts, deploy.Source{Commit: "c2c2c2c2c2c2"}, "R1", deploy.Strategy{})
			if err != nil {
				return ops.MigrationPlan{}, err
			}
			h, _ := deploy.MigrationHost(p.Hosts)
			mp := &deploy.MigratePlan{Plan: p, Current: store.Release{App: app, Env: env, ReleaseID: "R1", Commit: "c2c2c2c2c2c2"}, Host: h}
			f.mu.Lock()
			f.migPreviews = append(f.migPreviews, mp)
			f.mu.Unlock()
			return ops.MigrationPlan{Plan: mp, Host: h.Name, Command: "./manage.py migrate", Release: "R1", Total: 3, Pending: []string{"shop.0003_orders"}}, nil
		},
		Migrate: func(_ context.Context, mp *deploy.MigratePlan, io ops.IO) (deploy.MigrationResult, error) {
			f.hit("migrate")
			f.mu.Lock()
			f.migrated = append(f.migrated, mp)
			f.mu.Unlock()
			return deploy.MigrationResult{Host: mp.Host.Name, Applied: true, Outcome: f.outcome(mp.Current.ReleaseID, []string{mp.Host.Name})}, nil
		},
		FlushPlan: func(context.Context, string) ([]cache.Spec, error) {
			f.hit("flushPlan")
			return []cache.Spec{{Host: "cache1", Kind: cache.Memcached, Address: "127.0.0.1", Port: 11211, DB: cache.AllDBs},
				{Host: "cache2", Kind: cache.Redis, Address: "127.0.0.1", Port: 6379, DB: cache.AllDBs}}, nil
		},
		Flush: func(_ context.Context, env string, hosts []string, io ops.IO) ([]cache.Result, error) {
			f.hit("flush")
			f.mu.Lock()
			f.flushed = append(f.flushed, hosts)
			f.mu.Unlock()
			var out []cache.Result
			for _, h := range hosts {
				out = append(out, cache.Result{Host: h, Server: "memcached", Status: remote.StatusOK, Before: 1200, After: 0})
			}
			return out, nil
		},
		Releases: func(context.Context, string, string) ([]store.Release, error) {
			f.hit("releases")
			return []store.Release{
				{ID: 3, ReleaseID: "R2", Kind: "rollback", Commit: "b1b1b1b1b1b1", Subject: "first release", Operator: "bob", Result: "success", RunID: runOf(12), Hosts: hostsJSON(f.hosts)},
				{ID: 2, ReleaseID: "R1", Kind: "deploy", Commit: "c2c2c2c2c2c2", Subject: "add checkout", Operator: "alice", Result: "success", RunID: runOf(11), Hosts: hostsJSON(f.hosts),
					FinishedAt: store.Millis(time.Second.Milliseconds())},
				{ID: 1, ReleaseID: "R0", Kind: "deploy", Commit: "b1b1b1b1b1b1", Subject: "first release", Operator: "bob", Result: "success", RunID: runOf(10), Hosts: hostsJSON(f.hosts)},
			}, nil
		},
		Compare: func(_ context.Context, a, b store.Release) (deploy.Comparison, error) {
			f.hit("compare:" + a.ReleaseID + "," + b.ReleaseID)
			return deploy.Comparison{Commits: []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
				Diffstat: " shop/views.py | 12 ++++++", Migrations: []string{"shop/migrations/0002_cart.py"},
				HostsA: map[string]string{"web1": "ok"}, HostsB: map[string]string{"web1": "failed at health"}}, nil
		},
	}
}

// plan is the preview's plan of app's hosts (named) in env, in the
// environment's default strategy, as deploy.PreviewDeploy makes it.
func (f *fakeFlows) plan(app, env string, hosts []string, src deploy.Source) (*deploy.Plan, error) {
	e, _ := f.fleet.Environment(env)
	p, err := f.newPlan(app, env, hosts, src, "R1", deploy.DefaultStrategy(e))
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.previewed = append(f.previewed, p)
	f.mu.Unlock()
	return p, nil
}

// newPlan is a plan of app's hosts (named) in env, to release.
func (f *fakeFlows) newPlan(app, env string, hosts []string, src deploy.Source, release string, strategy deploy.Strategy) (*deploy.Plan, error) {
	a, _ := f.fleet.App(app)
	e, _ := f.fleet.Environment(env)
	var hs []inventory.Host
	for _, n := range hosts {
		if h, ok := f.fleet.Host(n); ok {
			hs = append(hs, h)
		}
	}
	p, err := deploy.NewPlan(f.fleet, a, e, hs, src, release, strategy)
	if err != nil {
		return nil, err
	}
	p.Select = deploy.HostSelection{Names: hosts}
	return p, nil
}

// driver runs an App as the program would: every cmd in a goroutine, its
// messages fed back one by one, so an engine blocked on a question does
// not block the test.
type driver struct {
	t    *testing.T
	a    App
	msgs chan tea.Msg
}

func newFlowDriver(t *testing.T, fns Flows, load func(context.Context, int64) (ops.RecordedRun, error)) *driver {
	t.Helper()
	fl := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return fl, nil },
		Flows: fns, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 40})
	return &driver{t: t, a: a, msgs: make(chan tea.Msg, 256)}
}

func (d *driver) do(cmd tea.Cmd) {
	if cmd != nil {
		go func() { d.msgs <- cmd() }()
	}
}

func (d *driver) send(msg tea.Msg) {
	next, cmd := d.a.Update(msg)
	d.a = next.(App)
	d.do(cmd)
}

// press sends keys ("enter", "esc", "up", "down", "space", "shift+tab", or text).
func (d *driver) press(names ...string) {
	for _, n := range names {
		switch n {
		case "shift+tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab, Mod: tea.ModShift}))
			continue
		case "tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab}))
			continue
		case "right":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyRight}))
			continue
		case "left":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyLeft}))
			continue
		}
		for _, m := range keys(n) {
			d.send(m)
		}
	}
}

// until feeds messages until cond holds, failing after a while.
func (d *driver) until(what string, cond func(view string) bool) string {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if v := viewText(d.a); cond(v) {
			return v
		}
		select {
		case msg := <-d.msgs:
			switch m := msg.(type) {
			case nil:
			case tea.BatchMsg:
				for _, c := range m {
					d.do(c)
				}
			default:
				d.send(m)
			}
		case <-deadline:
			d.t.Fatalf("no %s; screen:\n%s", what, viewText(d.a))
		}
	}
}

// see waits until the view shows every one of want.
func (d *driver) see(want ...string) string {
	d.t.Helper()
	return d.until(strings.Join(want, " + "), func(v string) bool {
		for _, w := range want {
			if !strings.Contains(v, w) {
				return false
			}
		}
		return true
	})
}

// settle feeds the messages already there (and those they cause) for a
// moment, for checks that something did not happen.
func (d *driver) settle() string {
	d.t.Helper()
	end := time.After(150 * time.Millisecond)
	for {
		select {
		case msg := <-d.msgs:
			if m, ok := msg.(tea.BatchMsg); ok {
				for _, c := range m {
					d.do(c)
				}
			} else if msg != nil {
				d.send(msg)
			}
		case <-end:
			return viewText(d.a)
		}
	}
}

// steps is the walk of an op flow, whatever its plan's type.
func (f *opFlow[P, R]) steps() *opSteps { return &f.opSteps }

// opStepsOf is the walk of the op flow shown, nil when none is.
func opStepsOf(f flow) *opSteps {
	s, ok := f.(interface{ steps() *opSteps })
	if !ok {
		return nil
	}
	return s.steps()
}
