package main

import (
	"context"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
)

// execApp runs command on hosts in app's current release with its
// shared/.env loaded: the console's command line with an app chosen, as
// `opsui exec --app` does.
func (c *consoleSession) execApp(ctx context.Context, hosts []inventory.Host, app, command string, emit func(remote.Event)) (remote.Result, error) {
	res, _, err := c.svc.Exec(ctx, ops.ExecRequest{Hosts: hosts, Command: command, App: app}, emit)
	return res, err
}
