package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// flushPlan lists env's cache hosts and what each flushes.
func (c *consoleSession) flushPlan(ctx context.Context, env string) ([]cache.Spec, error) {
	req, err := c.svc.FlushPlan(ctx, ops.FlushQuery{Env: env})
	return req.Specs, err
}

// flush empties the caches of names in env, recorded as a flush run.
func (c *consoleSession) flush(ctx context.Context, env string, names []string, io ops.IO) ([]cache.Result, error) {
	if len(names) == 0 {
		return nil, fmt.Errorf("flush %s: no host chosen", env)
	}
	req, err := c.svc.FlushPlan(ctx, ops.FlushQuery{Env: env, Names: names})
	if err != nil {
		return nil, err
	}
	rep, _, err := c.svc.Flush(ctx, req, io.Emit)
	var recErr *ops.RecordError
	switch {
	case errors.As(err, &recErr): // the caches were flushed: say how
		err = fmt.Errorf("record run: %w", recErr.Err) // the CLI's words
	case err != nil:
		return nil, err
	}
	return rep.Hosts, err
}

func (c *consoleSession) releases(ctx context.Context, app, env string) ([]store.Release, error) {
	return c.svc.Releases(ctx, ops.ReleaseQuery{App: app, Env: env, Limit: 500})
}

// compare says what lies between two releases of one app.
func (c *consoleSession) compare(ctx context.Context, a, b store.Release) (deploy.Comparison, error) {
	cmp, err := c.svc.Compare(ctx, a, b)
	return cmp, opError(err)
}
