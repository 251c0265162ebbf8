package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

func newMigrateCmd(c *cli) *cobra.Command {
	var (
		tf       targetFlags
		sshf     sshFlags
		planOnly bool
		yes      bool
	)
	cmd := &cobra.Command{
		Use:   "migrate [APP] --env E [--plan]",
		Short: "Run the app's migrations once, on the environment's migration host",
		Long: `Run the app's migrate command once, in the current release of the migration
host (the first host with the db-migrate role, else the first web host), under
the deploy lock, with its output streamed and recorded as a run. With --plan,
list the pending migrations and change nothing.`,
		Example: `  opsui migrate shop --env staging --plan
  opsui migrate shop --env production`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		tg, mp, d, closePool, err := c.previewMigrate(ctx, s, &tf, &sshf, args)
		if err != nil {
			return err
		}
		defer closePool()
		if planOnly {
			res, err := d.MigrationPlan(ctx, mp.Plan)
			if err != nil {
				return err
			}
			if res.Plan == nil {
				fmt.Fprintf(c.stdout, "migration plan on %s:\n%s", res.Host, res.Output)
				return nil
			}
			printMigrationPlan(c.stdout, res, tg.env.Name)
			return nil
		}
		if err := c.confirm(fmt.Sprintf("Run %q on %s (%s)?", tg.app.Migrate, mp.Host.Name, tg.env.Name), yes); err != nil {
			return err
		}
		if tg.env.Protected {
			if err := c.typedConfirm(tg.env.Name, yes); err != nil {
				return err
			}
		}
		res, err := d.ExecuteMigrate(ctx, mp)
		closePool()
		if res.Outcome != nil {
			if rerr := c.report(res.Outcome, err); rerr != nil {
				return rerr
			}
		} else if err != nil {
			return err
		}
		if res.Applied {
			fmt.Fprintf(c.stdout, "migrations applied; release %s is recorded as migrated\n", mp.Current.ReleaseID)
		}
		return nil
	})
	tf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().BoolVar(&planOnly, "plan", false, "list the pending migrations and change nothing")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

// previewMigrate resolves the flags' target, previews its migrate
// (deploy.PreviewMigrate; a plan that does not check is a usage error, as
// the deploy's) and wires the deployer that lists or runs it.
func (c *cli) previewMigrate(ctx context.Context, s *store.Store, tf *targetFlags, sshf *sshFlags,
	args []string) (target, *deploy.MigratePlan, *deploy.Deployer, func(), error) {
	tg, err := tf.load(ctx, s, args)
	if err != nil {
		return tg, nil, nil, nil, err
	}
	mp, err := deploy.PreviewMigrate(ctx, s, deploy.MigrateRequest{Fleet: tg.fleet, App: tg.app, Env: tg.env, Select: tg.sel, Hosts: tg.hosts})
	if pe := (*deploy.PlanError)(nil); errors.As(err, &pe) {
		return tg, nil, nil, nil, usageError{err}
	} else if err != nil {
		return tg, nil, nil, nil, err
	}
	d, closePool, err := c.deployer(ctx, s, sshf, tg)
	return tg, mp, d, closePool, err
}

// printNewMigrations lists the migration files a deploy from the
// environment's current commit to commit would add.
func (c *cli) printNewMigrations(ctx context.Context, repo, from, to string) {
	files, err := deploy.NewMigrationFiles(ctx, repo, from, to)
	if err != nil || len(files) == 0 {
		return
	}
	fmt.Fprintf(c.stdout, "new migrations (%d), run once before the switch:\n  %s\n", len(files), strings.Join(files, "\n  "))
}

// printMigrationPlan says what a Django migration plan leaves to apply;
// "nothing pending" in words, never a heading with nothing under it.
func printMigrationPlan(w io.Writer, res deploy.MigrationResult, env string) {
	pending := deploy.Pending(res.Plan)
	if len(pending) == 0 {
		fmt.Fprintf(w, "nothing pending on %s (%s): all %d migrations are applied\n", env, res.Host, len(res.Plan))
		return
	}
	fmt.Fprintf(w, "%d of %d migrations pending on %s (%s):\n", len(pending), len(res.Plan), env, res.Host)
	for _, m := range pending {
		fmt.Fprintf(w, "  %s\n", m)
	}
}
