package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
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
	rep, _, err := cache.FlushRecorded(ctx, c.svc, cache.FlushRequest{Env: env, Hosts: hosts, Specs: specs}, io.Emit)
	var recErr *ops.RecordError
	switch {
	case errors.As(err, &recErr): // the caches were flushed: say how
		err = fmt.Errorf("record the flush: %w", recErr.Err)
	case err != nil:
		return nil, err
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

// compare says what lies between two releases of one app (deploy.Compare).
func (c *consoleSession) compare(ctx context.Context, a, b ui.Release) (deploy.Comparison, error) {
	f, err := c.st.LoadFleet(ctx)
	if err != nil {
		return deploy.Comparison{}, err
	}
	app, ok := f.App(b.App)
	if !ok {
		return deploy.Comparison{}, unknownName("app", b.App, appNames(f))
	}
	return deploy.Compare(ctx, c.st, app.Repo, deploy.Side{Commit: a.Commit, Run: a.RunID}, deploy.Side{Commit: b.Commit, Run: b.RunID})
}
