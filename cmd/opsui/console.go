package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui"
)

// consoleConfig reads the config file ($XDG_CONFIG_HOME/opsui/config.yaml)
// into the console's settings; flags given on the command line win.
func (c *cli) consoleConfig(cmd *cobra.Command) (ui.KeyMap, error) {
	flags := cmd.Flags()
	path, err := store.ConfigPath(os.Getenv)
	if err != nil {
		return ui.KeyMap{}, err
	}
	cfg, err := ui.LoadConfig(path)
	if err != nil {
		return ui.KeyMap{}, err
	}
	if cfg.Theme != "" && !flags.Changed("theme") {
		c.theme = cfg.Theme
	}
	if cfg.Refresh > 0 && !flags.Changed("refresh") {
		c.refresh = cfg.Refresh
	}
	return cfg.KeyMap()
}

// runConsole opens the console on the store's fleet with keys.
func (c *cli) runConsole(ctx context.Context, s *store.Store, keys ui.KeyMap) error {
	th, err := themes.ByName(c.theme)
	if err != nil {
		return usageError{err}
	}
	if themes.NoColor(os.Getenv) {
		th = th.WithoutColor()
	}
	if c.refresh < 0 {
		return usageError{fmt.Errorf("--refresh %v: must not be negative", c.refresh)}
	}
	// Runs whose opsui died show as interrupted, not running, in the past
	// runs and the host details.
	if _, err := s.ReapStaleRuns(ctx); err != nil {
		return err
	}
	asker := ui.NewAsker()
	if d, err := time.ParseDuration(os.Getenv(dialogGuardEnv)); err == nil {
		asker.SetGuard(d) // only ever longer
	}
	console, err := newConsoleSession(s, asker)
	if err != nil {
		return err
	}
	defer console.close()
	return ui.Run(ctx, ui.Options{Theme: th, LoadFleet: s.LoadFleet, Exec: console.exec, ReadOnly: c.readOnly,
		Probe: console.svc.Status, RefreshInterval: c.refresh, LastRuns: console.lastRuns, Asker: asker,
		ListRuns: console.pastRuns, LoadRun: console.svc.Run, FollowRun: console.svc.FollowRun, Keys: &keys, Flows: console.flows(), Logs: console.svc.FollowLogs, LogsBacklog: console.followLogs, LogTies: console.logTies,
		Shell: console.shell, Forward: console.forward, Presence: console.svc.WatchPresence, EnvDrift: console.svc.EnvDrift,
		ExecApp: console.execApp, Runbook: console.runbook, Maintenance: console.svc.InMaintenance})
}

// consoleSession is how the console reaches hosts: one pool for the whole
// session, shared by ad-hoc commands and status probes, so connections stay
// warm; a recorded run per command. Unknown host keys and key passphrases
// are asked in the console's dialogs (the console owns the terminal, so
// nothing may prompt on it directly).
type consoleSession struct {
	st   *store.Store
	pool *remote.Pool
	cfg  remote.SSHConfig
	opts remote.Options // the pool's: the shell (s) trusts the same host keys
	svc  *ops.Service   // the operations, recorded as the console's
}

func newConsoleSession(st *store.Store, asker *ui.Asker) (*consoleSession, error) {
	opts, err := remote.DefaultOptions()
	if err != nil {
		return nil, err
	}
	opts.AcceptHostKey = asker.AcceptHostKey
	opts.Passphrase = asker.Passphrase
	cfg, err := remote.LoadSSHConfig(opts.SSHConfigPath)
	if err != nil {
		return nil, err
	}
	pool := remote.NewPool(opts)
	svc := &ops.Service{Store: st, Conn: pool, SSH: cfg, Operator: operator(), Args: []string{"console"},
		Prober: remote.NewProber(pool, remote.ProbeOptions{})}
	return &consoleSession{st: st, pool: pool, cfg: cfg, opts: opts, svc: svc}, nil
}

func (c *consoleSession) exec(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error) {
	res, _, err := c.svc.Exec(ctx, ops.ExecRequest{Hosts: hosts, Command: command}, emit)
	return res, err
}

// followLogs follows the role logs of hosts from the last backlog lines
// of each file: the logs view's b (more history).
func (c *consoleSession) followLogs(ctx context.Context, f *inventory.Fleet, hosts []inventory.Host, backlog int, emit func(logs.Line)) error {
	sources, _, err := c.svc.LogSources(f, hosts, ops.LogsQuery{})
	if err != nil {
		return err
	}
	return c.svc.TailLogs(ctx, sources, logs.Options{SinceLines: backlog}, emit)
}

// lastRuns reads host's last runs and its part in each.
func (c *consoleSession) lastRuns(ctx context.Context, host string) ([]ops.HostRun, error) {
	return c.svc.LastRuns(ctx, host, 5)
}

// pastRuns reads the newest runs for the past runs list.
func (c *consoleSession) pastRuns(ctx context.Context, limit int) ([]store.Run, error) {
	return c.svc.Runs(ctx, store.RunFilter{Limit: limit})
}

func (c *consoleSession) close() { c.pool.Close() }

// dialogGuardEnv lengthens the console dialogs' key guard (never shortens
// it): the end-to-end tests type every 100 ms, which a loaded machine can
// stretch past the default 300 ms.
const dialogGuardEnv = "OPSUI_TEST_DIALOG_GUARD"
