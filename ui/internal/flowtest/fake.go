// Package flowtest is the console's tests' engine for the guided flows:
// ui/flows' own tests and the root's (quitting while a flow runs, the
// flow keys, every view's size) drive the flows with it.
package flowtest

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Fake is an engine for the flows that records what it was asked.
type Fake struct {
	mu           sync.Mutex
	Fleet        *inventory.Fleet // the inventory previews are made from
	Now          *inventory.Fleet // the inventory a deploy finds (nil: fleet's)
	Calls        map[string]int
	Previewed    []*deploy.Plan
	Deployed     []*deploy.Plan
	RolledTo     []string
	RollStrategy []deploy.Strategy
	RollPreviews []*deploy.RollbackPlan // the rollbacks previewed
	RolledBack   []*deploy.RollbackPlan // the rollbacks run
	MigPreviews  []*deploy.MigratePlan  // the migrates previewed
	Migrated     []*deploy.MigratePlan  // the migrates run
	Flushed      [][]string
	Hosts        []string // the staging web hosts
	CanaryAns    []bool
}

// Count is how many times the flows called name.
func (f *Fake) Count(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Calls[name]
}

func (f *Fake) hit(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls[name]++
}

// SetNow makes fl the inventory a deploy finds, as though the fleet
// changed since the preview.
func (f *Fake) SetNow(fl *inventory.Fleet) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Now = fl
}

// Changes is how many calls changed hosts.
func (f *Fake) Changes() int {
	return f.Count("deploy") + f.Count("rollback") + f.Count("migrate") + f.Count("flush")
}

// NewFake is an engine over fl, the testfleet inventory.
func NewFake(fl *inventory.Fleet) *Fake {
	f := &Fake{Fleet: fl, Calls: map[string]int{}}
	for _, h := range fl.Select(inventory.Filter{Env: "staging", Role: "web"}) {
		f.Hosts = append(f.Hosts, h.Name)
	}
	return f
}

func (f *Fake) outcome(id string, hosts []string) *deploy.Outcome {
	out := &deploy.Outcome{ReleaseID: id, Record: 7, RunID: 42, Result: "success", Timing: deploy.Timing{Total: 3 * time.Second}}
	for _, h := range hosts {
		out.Hosts = append(out.Hosts, deploy.HostOutcome{Host: h, Status: deploy.HostOK, Duration: time.Second, Release: id})
	}
	return out
}

// The fake's entry points: ui/flows.Flows' fields, each a method
// (ui/flows' own tests use the fake too, so it cannot import ui/flows).
// Refs answers as the engine would (flows.Flows.Refs).
func (f *Fake) Refs(context.Context, string) ([]ops.Ref, error) {
	f.hit("refs")
	return []ops.Ref{{Name: "main", Kind: "branch", Hash: "c2c2c2c2c2c2", Subject: "add checkout", Author: "ann"},
		{Name: "v1.0", Kind: "tag", Hash: "b1b1b1b1b1b1", Subject: "first release", Author: "bob"},
		{Name: "a0a0a0a0a0a0", Kind: "commit", Hash: "a0a0a0a0a0a0", Subject: "initial", Author: "bob"}}, nil
}

// Preview answers as the engine would (flows.Flows.Preview).
func (f *Fake) Preview(_ context.Context, app, env, ref string) (ops.Preview, error) {
	f.hit("preview")
	p := ops.Preview{Source: deploy.Source{Ref: ref, Commit: "c2c2c2c2c2c2c2c2", Subject: "add checkout", Author: "ann", Branch: ref, Dirty: true},
		Current: "20260101000000", CurrentCommit: "b1b1b1b1b1b1b1b1",
		Commits:      []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
		Behind:       []deploy.Commit{{Hash: "d3d3d3d3d3d3", Author: "cy", Subject: "hotfix only in prod"}},
		Diffstat:     " shop/views.py | 12 ++++++\n 1 file changed",
		Migrations:   []string{"shop/migrations/0002_cart.py"},
		Requirements: []string{"requirements.txt"},
		Warnings:     []string{"alice@lap deployed shop → " + env + " 4 min ago"}}
	hosts := f.Hosts
	if env == "production" {
		hosts = []string{"web1", "web2"}
	}
	plan, err := f.plan(app, env, hosts, p.Source)
	if err != nil {
		return p, err
	}
	p.Plan = plan
	plan.EnvChanges = []deploy.EnvChange{{Key: "API_KEY", Kind: deploy.EnvChanged, Secret: "api", Hosts: hosts}}
	for i, h := range hosts {
		hr := ops.HostRelease{Host: h, Reachable: true, Release: "20260101000000", Commit: "b1b1b1b1b1b1b1b1"}
		if i == 0 {
			hr.Commit, hr.Lock = "e4e4e4e4", "carol@laptop"
		}
		p.Hosts = append(p.Hosts, hr)
	}
	p.Hosts = append(p.Hosts, ops.HostRelease{Host: "ghost", Err: "dial: refused"})
	return p, nil
}

// Deploy answers as the engine would (flows.Flows.Deploy).
func (f *Fake) Deploy(ctx context.Context, p *deploy.Plan, io ops.IO) (*deploy.Outcome, error) {
	f.hit("deploy")
	f.mu.Lock()
	f.Deployed = append(f.Deployed, p)
	now := f.Now
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
		f.CanaryAns = append(f.CanaryAns, ok)
		f.mu.Unlock()
		if !ok {
			out := f.outcome("R1", hosts)
			out.Result = "aborted"
			return out, nil
		}
	}
	return f.outcome("R1", hosts), nil
}

// RollbackPreview answers as the engine would (flows.Flows.RollbackPreview).
func (f *Fake) RollbackPreview(_ context.Context, app, env, to string) (ops.RollbackPreview, error) {
	f.hit("rollbackPreview")
	hosts := f.Hosts
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
	e, _ := f.Fleet.Environment(env)
	p, err := f.newPlan(app, env, hosts, deploy.Source{Ref: target.ReleaseID, Commit: target.Commit, Subject: target.Subject},
		target.ReleaseID, deploy.DefaultStrategy(e))
	if err != nil {
		return ops.RollbackPreview{}, err
	}
	rp := &deploy.RollbackPlan{Plan: p, Choice: deploy.RollbackChoice{
		From:   store.Release{App: app, Env: env, ReleaseID: "R1", Commit: "c2c2c2c2c2c2"},
		Target: store.Release{App: app, Env: env, ReleaseID: target.ReleaseID, Commit: target.Commit, Subject: target.Subject}}}
	f.mu.Lock()
	f.RollPreviews = append(f.RollPreviews, rp)
	f.mu.Unlock()
	return ops.RollbackPreview{Plan: rp, From: store.Release{ReleaseID: "R1", Commit: "c2c2c2c2c2c2"}, Target: target,
		Candidates: []store.Release{prev, older}, Undone: []store.Release{{ReleaseID: "R1", MigrationsApplied: true}},
		Migrated: []store.Release{{ReleaseID: "R1"}}, Commits: []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
		Hosts: hosts}, nil
}

// Rollback answers as the engine would (flows.Flows.Rollback).
func (f *Fake) Rollback(_ context.Context, rp *deploy.RollbackPlan, io ops.IO) (*deploy.Outcome, error) {
	f.hit("rollback")
	to := rp.Choice.Target.ReleaseID
	f.mu.Lock()
	f.RolledBack = append(f.RolledBack, rp)
	f.RolledTo = append(f.RolledTo, to)
	f.RollStrategy = append(f.RollStrategy, rp.Plan.Strategy)
	f.mu.Unlock()
	var hosts []string
	for _, h := range rp.Plan.Hosts {
		hosts = append(hosts, h.Name)
	}
	return f.outcome(to, hosts), nil
}

// MigrationPlan answers as the engine would (flows.Flows.MigrationPlan).
func (f *Fake) MigrationPlan(_ context.Context, app, env string) (ops.MigrationPlan, error) {
	f.hit("migrationPlan")
	// As deploy.PreviewMigrate plans it: the current release on the
	// migration host.
	p, err := f.newPlan(app, env, f.Hosts, deploy.Source{Commit: "c2c2c2c2c2c2"}, "R1", deploy.Strategy{})
	if err != nil {
		return ops.MigrationPlan{}, err
	}
	h, _ := deploy.MigrationHost(p.Hosts)
	mp := &deploy.MigratePlan{Plan: p, Current: store.Release{App: app, Env: env, ReleaseID: "R1", Commit: "c2c2c2c2c2c2"}, Host: h}
	f.mu.Lock()
	f.MigPreviews = append(f.MigPreviews, mp)
	f.mu.Unlock()
	return ops.MigrationPlan{Plan: mp, Host: h.Name, Command: "./manage.py migrate", Release: "R1", Total: 3, Pending: []string{"shop.0003_orders"}}, nil
}

// Migrate answers as the engine would (flows.Flows.Migrate).
func (f *Fake) Migrate(_ context.Context, mp *deploy.MigratePlan, io ops.IO) (deploy.MigrationResult, error) {
	f.hit("migrate")
	f.mu.Lock()
	f.Migrated = append(f.Migrated, mp)
	f.mu.Unlock()
	return deploy.MigrationResult{Host: mp.Host.Name, Applied: true, Outcome: f.outcome(mp.Current.ReleaseID, []string{mp.Host.Name})}, nil
}

// FlushPlan answers as the engine would (flows.Flows.FlushPlan).
func (f *Fake) FlushPlan(context.Context, string) ([]cache.Spec, error) {
	f.hit("flushPlan")
	return []cache.Spec{{Host: "cache1", Kind: cache.Memcached, Address: "127.0.0.1", Port: 11211, DB: cache.AllDBs},
		{Host: "cache2", Kind: cache.Redis, Address: "127.0.0.1", Port: 6379, DB: cache.AllDBs}}, nil
}

// Flush answers as the engine would (flows.Flows.Flush).
func (f *Fake) Flush(_ context.Context, env string, hosts []string, io ops.IO) ([]cache.Result, error) {
	f.hit("flush")
	f.mu.Lock()
	f.Flushed = append(f.Flushed, hosts)
	f.mu.Unlock()
	var out []cache.Result
	for _, h := range hosts {
		out = append(out, cache.Result{Host: h, Server: "memcached", Status: remote.StatusOK, Before: 1200, After: 0})
	}
	return out, nil
}

// Releases answers as the engine would (flows.Flows.Releases).
func (f *Fake) Releases(context.Context, string, string) ([]store.Release, error) {
	f.hit("releases")
	return []store.Release{
		{ID: 3, ReleaseID: "R2", Kind: "rollback", Commit: "b1b1b1b1b1b1", Subject: "first release", Operator: "bob", Result: "success", RunID: RunOf(12), Hosts: HostsJSON(f.Hosts)},
		{ID: 2, ReleaseID: "R1", Kind: "deploy", Commit: "c2c2c2c2c2c2", Subject: "add checkout", Operator: "alice", Result: "success", RunID: RunOf(11), Hosts: HostsJSON(f.Hosts),
			FinishedAt: store.Millis(time.Second.Milliseconds())},
		{ID: 1, ReleaseID: "R0", Kind: "deploy", Commit: "b1b1b1b1b1b1", Subject: "first release", Operator: "bob", Result: "success", RunID: RunOf(10), Hosts: HostsJSON(f.Hosts)},
	}, nil
}

// Compare answers as the engine would (flows.Flows.Compare).
func (f *Fake) Compare(_ context.Context, a, b store.Release) (deploy.Comparison, error) {
	f.hit("compare:" + a.ReleaseID + "," + b.ReleaseID)
	return deploy.Comparison{Commits: []deploy.Commit{{Hash: "c2c2c2c2c2c2", Author: "ann", Subject: "add checkout"}},
		Diffstat: " shop/views.py | 12 ++++++", Migrations: []string{"shop/migrations/0002_cart.py"},
		HostsA: map[string]string{"web1": "ok"}, HostsB: map[string]string{"web1": "failed at health"}}, nil
}

// plan is the preview's plan of app's hosts (named) in env, in the
// environment's default strategy, as deploy.PreviewDeploy makes it.
func (f *Fake) plan(app, env string, hosts []string, src deploy.Source) (*deploy.Plan, error) {
	e, _ := f.Fleet.Environment(env)
	p, err := f.newPlan(app, env, hosts, src, "R1", deploy.DefaultStrategy(e))
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	f.Previewed = append(f.Previewed, p)
	f.mu.Unlock()
	return p, nil
}

// newPlan is a plan of app's hosts (named) in env, to release.
func (f *Fake) newPlan(app, env string, hosts []string, src deploy.Source, release string, strategy deploy.Strategy) (*deploy.Plan, error) {
	a, _ := f.Fleet.App(app)
	e, _ := f.Fleet.Environment(env)
	var hs []inventory.Host
	for _, n := range hosts {
		if h, ok := f.Fleet.Host(n); ok {
			hs = append(hs, h)
		}
	}
	p, err := deploy.NewPlan(f.Fleet, a, e, hs, src, release, strategy)
	if err != nil {
		return nil, err
	}
	p.Select = deploy.HostSelection{Names: hosts}
	return p, nil
}

// HostsJSON is a release's hosts as the store keeps them.
func HostsJSON(hosts []string) string {
	b, _ := json.Marshal(hosts)
	return string(b)
}

// RunOf is a release's run id.
func RunOf(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: true} }
