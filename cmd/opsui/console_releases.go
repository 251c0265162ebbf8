package main

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// cacheHosts are env's hosts with the cache role, only those named when
// names are given, and the specs of their flush.
func (c *consoleSession) cacheHosts(ctx context.Context, env string, names []string) (*inventory.Fleet, []inventory.Host, []cache.Spec, error) {
	f, err := c.st.LoadFleet(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	hosts := f.Select(inventory.Filter{Env: env, Role: cache.DefaultRole, Names: names})
	if len(hosts) == 0 {
		return f, nil, nil, fmt.Errorf("no host of %s has the role %s", env, cache.DefaultRole)
	}
	specs, err := cache.Plan(f, hosts, cache.DefaultRole, os.Getenv)
	return f, hosts, specs, err
}

func (c *consoleSession) flushPlan(ctx context.Context, env string) ([]ui.FlushTarget, error) {
	_, _, specs, err := c.cacheHosts(ctx, env, nil)
	if err != nil {
		return nil, err
	}
	out := make([]ui.FlushTarget, len(specs))
	for i, s := range specs {
		out[i] = ui.FlushTarget{Host: s.Host, Server: s.Server()}
	}
	return out, nil
}

// flush empties the caches of names in env, recorded as a flush run.
func (c *consoleSession) flush(ctx context.Context, env string, names []string, io ui.FlowIO) ([]ui.FlushResult, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("flush %s: no host chosen", env)
	}
	_, hosts, specs, err := c.cacheHosts(ctx, env, names)
	if err != nil {
		return nil, err
	}
	targets, err := ops.ResolveTargets(hosts, c.cfg)
	if err != nil {
		return nil, err
	}
	tnames := make([]string, len(targets))
	for i, t := range targets {
		tnames[i] = t.Name
	}
	rec, err := ops.StartRecorder(ctx, c.st, store.NewRun{Kind: store.KindFlush, Env: env, Operator: operator(),
		Command: flushCommand(specs), Args: []string{"console"}, Hosts: tnames})
	if err != nil {
		return nil, err
	}
	rep, err := cache.Flush(ctx, c.pool, targets, specs, ops.RunOptions{}, func(ev ops.Event) {
		rec.Event(ev)
		io.Emit(ev)
	})
	if ferr := rec.Finish(context.WithoutCancel(ctx), rep.Run); err == nil && ferr != nil {
		err = fmt.Errorf("record the flush: %w", ferr)
	}
	out := make([]ui.FlushResult, len(rep.Hosts))
	for i, r := range rep.Hosts {
		out[i] = ui.FlushResult{Host: r.Host, Server: r.Server, Keys: r.Keys(), OK: r.OK(), Duration: r.Duration}
		if r.Err != nil {
			out[i].Err = r.Err.Error()
		}
	}
	return out, err
}

func (c *consoleSession) releases(ctx context.Context, app, env string) ([]ui.Release, error) {
	rs, err := c.st.ListReleases(ctx, app, env, 500)
	if err != nil {
		return nil, err
	}
	out := make([]ui.Release, len(rs))
	for i, r := range rs {
		out[i] = uiRelease(r)
	}
	return out, nil
}

// compare says what lies between two releases of one app: git between
// their commits (both ways), and each host's outcome in their runs.
func (c *consoleSession) compare(ctx context.Context, a, b ui.Release) (ui.Comparison, error) {
	var cmp ui.Comparison
	f, err := c.st.LoadFleet(ctx)
	if err != nil {
		return cmp, err
	}
	app, ok := f.App(b.App)
	if !ok {
		return cmp, unknownName("app", b.App, appNames(f))
	}
	var added []string
	if err := c.between(ctx, app.Repo, a.Commit, b.Commit, &cmp.Commits, &cmp.Backward, &cmp.Diffstat, &added, &cmp.Requirements); err != nil {
		return cmp, err
	}
	removed, err := newMigrationFilesBack(ctx, app.Repo, a.Commit, b.Commit)
	if err != nil {
		return cmp, err
	}
	cmp.Migrations = append(added, removed...)
	if cmp.HostsA, err = c.hostOutcomes(ctx, a.RunID); err != nil {
		return cmp, err
	}
	cmp.HostsB, err = c.hostOutcomes(ctx, b.RunID)
	return cmp, err
}

// newMigrationFilesBack lists the migration files of from that to lacks
// (B went back past them), marked as such.
func newMigrationFilesBack(ctx context.Context, repo, from, to string) ([]string, error) {
	files, err := deploy.NewMigrationFiles(ctx, repo, to, from)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f + " (only in the older release)"
	}
	return out, nil
}

// hostOutcomes is each host's status in run id (none without a run).
func (c *consoleSession) hostOutcomes(ctx context.Context, id int64) (map[string]string, error) {
	out := map[string]string{}
	if id == 0 {
		return out, nil
	}
	hosts, err := c.st.RunHosts(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("hosts of run %d: %w", id, err)
	}
	for _, h := range hosts {
		s := h.Status
		if h.Stage != "" && !slices.Contains([]string{"ok", "skipped"}, s) {
			s += " at " + h.Stage
		}
		out[h.Host] = s
	}
	return out, nil
}
