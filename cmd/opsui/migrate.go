package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
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
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		mp, err := svc.PlanMigrate(ctx, tg)
		if err != nil {
			return planError(err)
		}
		io, done, err := c.connect(svc, &sshf, tg.Hosts)
		if err != nil {
			return err
		}
		defer done()
		if planOnly {
			res, err := svc.PendingMigrations(ctx, mp)
			if err != nil {
				return err
			}
			if res.Plan == nil {
				fmt.Fprintf(c.stdout, "migration plan on %s:\n%s", res.Host, res.Output)
				return nil
			}
			printMigrationPlan(c.stdout, res, tg.Env.Name)
			return nil
		}
		if err := c.confirm(fmt.Sprintf("Run %q on %s (%s)?", tg.App.MigrateCommand(), mp.Host.Name, tg.Env.Name), yes); err != nil {
			return err
		}
		if tg.Env.Protected {
			if err := c.typedConfirm(tg.Env.Name, yes); err != nil {
				return err
			}
		}
		res, err := svc.Migrate(ctx, mp, io)
		done()
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

// printNewMigrations lists the migration files a deploy from the
// environment's current commit to commit would add, and whether the
// deploy runs them: a dry run never promises a step that will not run.
// Files the database already has (chk: a release rolled back after its
// migration) are listed apart, not called new.
func (c *cli) printNewMigrations(files []string, chk *deploy.MigrationCheck, app inventory.App) {
	fresh, applied := deploy.SplitNewMigrations(files, chk)
	when := "run once before the switch"
	if app.MigrateCommand() == "" {
		when = "NOT run: the app has no migrate command"
	}
	if len(fresh) > 0 {
		fmt.Fprintf(c.stdout, "new migrations (%d), %s:\n  %s\n", len(fresh), when, strings.Join(fresh, "\n  "))
	}
	if len(applied) > 0 {
		fmt.Fprintf(c.stdout, "migrations the database already has (%d), not run again:\n  %s\n", len(applied), strings.Join(applied, "\n  "))
	}
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
