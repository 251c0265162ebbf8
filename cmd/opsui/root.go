package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui"
)

// cli holds what every subcommand shares: where output goes and how to reach
// the database. Nothing here is global, so tests run commands side by side.
type cli struct {
	stdout, stderr io.Writer
	stdin          io.Reader
	dbFlag         string
	theme          string
	readOnly       bool
	refresh        time.Duration
}

// usageError marks a mistake in how opsui was called (exit status 2).
type usageError struct{ error }

// Exit statuses of a database opsui cannot use, one per cause, so a
// script can tell a server that is down from a password that is wrong.
const (
	exitDBUnreachable = 10
	exitDBAuth        = 11
	exitDBMissing     = 12
	exitDBPermission  = 13
	exitDBTLS         = 14
)

func exitCode(err error) int {
	var ue usageError
	var ps inventory.Problems
	var ie inputError
	switch {
	case errors.As(err, &ue):
		return 2
	case errors.As(err, &ps), errors.As(err, &ie):
		return 3 // the input was read and is invalid
	case errors.Is(err, store.ErrUnreachable):
		return exitDBUnreachable
	case errors.Is(err, store.ErrAuth):
		return exitDBAuth
	case errors.Is(err, store.ErrNoDatabase):
		return exitDBMissing
	case errors.Is(err, store.ErrPermission):
		return exitDBPermission
	case errors.Is(err, store.ErrTLS):
		return exitDBTLS
	}
	return 1
}

func newRootCmd(c *cli) *cobra.Command {
	root := &cobra.Command{
		Use:   "opsui",
		Short: "A terminal console for operating a web fleet over SSH",
		Long: `Run without a command, opsui opens the console on the fleet.

opsui shows your fleet (web, app, db, cache and load-balancer hosts) from its
inventory and runs deploys, rollbacks, cache flushes, migrations and ad-hoc
commands on it over SSH, recording every release with its commit: in a local
SQLite file, or for a team in one PostgreSQL database (--db postgres://…).

Exit statuses: 0 done, 1 failed, 2 usage error, 3 invalid input; a database
opsui cannot use: 10 server unreachable, 11 authentication failed,
12 database missing, 13 permission denied, 14 TLS required or refused.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
	}
	root.RunE = func(cmd *cobra.Command, args []string) error {
		keys, err := c.consoleConfig(cmd) // before the store: a bad config file fails fast
		if err != nil {
			return err
		}
		return c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
			return c.runConsole(ctx, s, keys)
		})(cmd, args)
	}
	root.Flags().StringVar(&c.theme, "theme", "dark", "colour theme: "+strings.Join(themes.Names(), ", "))
	root.Flags().BoolVar(&c.readOnly, "read-only", false, "browse only: every action that changes a host is disabled")
	root.Flags().DurationVar(&c.refresh, "refresh", ui.DefaultRefreshInterval, "how often the status panel probes the fleet")
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	root.SetIn(c.stdin)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	root.PersistentFlags().StringVar(&c.dbFlag, "db", "",
		"database: a SQLite file or a postgres:// URL (default $OPSUI_DB, else the config's db:, else $XDG_DATA_HOME/opsui/opsui.db)")
	root.AddCommand(newInventoryCmd(c), newStoreCmd(c), newExecCmd(c),
		newDeployCmd(c), newRollbackCmd(c), newReleasesCmd(c), newPendingCmd(c), newUnlockCmd(c), newMigrateCmd(c), newFlushCmd(c), newDemoCmd(c), newLogsCmd(c), newCompareCmd(c), newLBCmd(c))
	root.AddCommand(newEnvCmd(c))
	root.AddCommand(newSetupCmd(c))
	root.AddCommand(newCpCmd(c))
	root.AddCommand(newAuditCmd(c))
	root.AddCommand(newFreezeCmd(c))
	root.AddCommand(newRunbookCmd(c))
	root.AddCommand(newRestartCmd(c))
	root.AddCommand(newMaintenanceCmd(c))
	return root
}

// open opens the database the flags and environment point at.
func (c *cli) open(ctx context.Context) (*store.Store, error) {
	path, err := store.ResolvePath(c.dbFlag)
	if err != nil {
		return nil, err
	}
	s, err := store.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	for _, w := range s.Warnings() {
		fmt.Fprintf(c.stderr, "opsui: warning: %s\n", w)
	}
	if err := applyOutputPolicy(s); err != nil { // the config's record limit and retention
		s.Close()
		return nil, err
	}
	return s, nil
}

// withStore opens the database for one command and closes it after.
func (c *cli) withStore(fn func(ctx context.Context, s *store.Store, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		s, err := c.open(cmd.Context())
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(cmd.Context(), s, args)
	}
}
