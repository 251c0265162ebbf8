package main

import (
	"context"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
)

// runbook runs a runbook the console confirmed, recorded as the
// console's run "runbook NAME".
func (c *consoleSession) runbook(ctx context.Context, plan ops.RunbookPlan, emit func(remote.Event)) (remote.Result, error) {
	res, _, err := c.svc.Runbook(ctx, plan, remote.RunOptions{}, emit)
	return res, err
}
