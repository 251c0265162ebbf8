package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// configFlags are the flags of a config release: env set, unset, apply
// and rollback --config. It changes the environment of every host of
// the environment: there is no --host or --role.
type configFlags struct {
	tf         targetFlags
	sf         strategyFlags
	sshf       sshFlags
	dryRun     bool
	yes        bool
	breakGlass string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.tf.app, "app", "", "the app (default: the only one)")
	cmd.Flags().StringVar(&f.tf.env, "env", "", "the environment (required when there are several)")
	f.sf.register(cmd)
	f.sshf.registerConn(cmd)
	cmd.Flags().BoolVar(&f.dryRun, "dry-run", false, "print the keys that change on each host (secrets by name) and the batches; change nothing")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmations (a protected environment's included)")
	cmd.Flags().StringVar(&f.breakGlass, "break-glass", "", "change the environment inside a freeze window for this reason (recorded with your name, sent to the app's webhooks)")
}

const configReleaseHelp = `It is a config release, recorded like a deploy (kind config, its operator, the
keys added, changed or removed: names only for secrets): the code stays the
release the environment runs (the record names its commit). The new
shared/.env is rendered on every host under the deploy lock (secrets read on
this machine, sent over the SSH session's standard input), then the app
server's graceful reload and the health check run, batch by batch like a
deploy (--strategy, --batch, --max-fail). Where a host fails, the previous
shared/.env is restored on every host written, reloaded and checked again, and
the change to the stored fleet is reverted. Refused inside a freeze window
unless --break-glass gives a reason.

The change is made to the stored inventory (env_per_environment of the
environment), which is the truth at run time: put it in your fleet file too
(or opsui inventory export), or the next import undoes it.`

func newEnvSetCmd(c *cli) *cobra.Command {
	return newEnvChangeCmd(c, store.ConfigSet, &cobra.Command{
		Use:   "set [APP] --env E KEY=VALUE... | KEY@SECRET...",
		Short: "Set keys of an environment's env (a config release)",
		Long: `Set keys of the app's environment for one environment: KEY=VALUE for a plain
value, KEY@SECRET for a secret the app's secrets: declare (its value is read
on this machine, never stored).

` + configReleaseHelp,
		Example: `  opsui env set shop --env production SHOP_FLAVOR=two
  opsui env set shop --env production STRIPE_KEY@stripe_live --strategy rolling --batch 1
  opsui env set shop --env production SHOP_FLAVOR=two --dry-run`,
	})
}

func newEnvUnsetCmd(c *cli) *cobra.Command {
	return newEnvChangeCmd(c, store.ConfigUnset, &cobra.Command{
		Use:   "unset [APP] --env E KEY...",
		Short: "Remove keys from an environment's env (a config release)",
		Long: `Remove keys from the app's environment for one environment (its
env_per_environment block; a key the app declares for every environment falls
back to that value).

` + configReleaseHelp,
		Example: `  opsui env unset shop --env production SHOP_FLAVOR`,
	})
}

// newEnvChangeCmd completes env set's or unset's command: its arguments
// are KEY=VALUE and KEY@SECRET (set) or keys (unset).
func newEnvChangeCmd(c *cli, action store.ConfigAction, cmd *cobra.Command) *cobra.Command {
	var f configFlags
	cmd.Args = cobra.MinimumNArgs(1)
	cmd.RunE = c.configRelease(&f, cmd, func(ctx context.Context, svc *ops.Service, tg ops.Target, args []string) (*deploy.ConfigPlan, error) {
		req := ops.EnvChangeRequest{Target: tg, Action: action, Strategy: f.sf.strategy(tg.Env)}
		if action == store.ConfigSet {
			req.Assign = args
		} else {
			req.Keys = args
		}
		return svc.PlanEnvChange(ctx, req)
	})
	f.register(cmd)
	return cmd
}

func newEnvApplyCmd(c *cli) *cobra.Command {
	var f configFlags
	cmd := &cobra.Command{
		Use:   "apply [APP] --env E",
		Short: "Render the environment again, its secrets re-read (a config release)",
		Long: `Render the app's environment on every host again, as the stored fleet declares
it, its secrets read again: after a secret was rotated in the password manager
(the leaked key at 3 a.m.), every host gets the new value with a graceful
reload, no deploy.

` + configReleaseHelp,
		Example: `  opsui env apply shop --env production
  opsui env apply shop --env production --strategy rolling --batch 25%`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.configRelease(&f, cmd, func(ctx context.Context, svc *ops.Service, tg ops.Target, args []string) (*deploy.ConfigPlan, error) {
		return svc.PlanEnvChange(ctx, ops.EnvChangeRequest{Target: tg, Action: store.ConfigApply, Strategy: f.sf.strategy(tg.Env)})
	})
	f.register(cmd)
	return cmd
}

// configPlanner plans a command's config release; args are the
// command's arguments after the app.
type configPlanner func(ctx context.Context, svc *ops.Service, tg ops.Target, args []string) (*deploy.ConfigPlan, error)

// configRelease is the RunE of a config release command: plan, check the
// freeze, print the plan (and stop, with --dry-run), confirm, run, report.
// The app may be given as the first argument of env set and unset when it
// names an app (KEY=VALUE and KEY@SECRET never do).
func (c *cli) configRelease(f *configFlags, cmd *cobra.Command, plan configPlanner) func(*cobra.Command, []string) error {
	return c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := c.service(s)
		args, appArg := splitAppArg(ctx, svc, cmd.Name(), args)
		tg, err := f.tf.target(ctx, svc, appArg)
		if err != nil {
			return err
		}
		c.reportStale(ctx, s, tg.App.Name, tg.Env.Name)
		cp, err := plan(ctx, svc, tg, args)
		if err != nil {
			return planError(err)
		}
		cp.Plan.BreakGlass = strings.TrimSpace(f.breakGlass)
		if cmd.Flags().Changed("break-glass") && cp.Plan.BreakGlass == "" {
			return usageError{errors.New("--break-glass needs a reason: it is recorded and sent to the app's webhooks")}
		}
		return c.runConfig(ctx, svc, f, cp)
	})
}

// splitAppArg takes the app from the front of args: for env apply the
// only argument; for set and unset the first, when it names an app.
func splitAppArg(ctx context.Context, svc *ops.Service, name string, args []string) (rest, app []string) {
	if len(args) == 0 {
		return nil, nil
	}
	if name == "apply" {
		return nil, args[:1]
	}
	if strings.ContainsAny(args[0], "=@") {
		return args, nil
	}
	if f, err := svc.Store.LoadFleet(ctx); err == nil {
		if _, ok := f.App(args[0]); ok && len(args) > 1 {
			return args[1:], args[:1]
		}
	}
	return args, nil
}

// runConfig checks the freeze, prints the plan, asks, runs cp and
// reports: the one ending of env set, unset, apply and rollback --config.
func (c *cli) runConfig(ctx context.Context, svc *ops.Service, f *configFlags, cp *deploy.ConfigPlan) error {
	p := cp.Plan
	// A rollback is not stopped by a freeze, as a code rollback is not.
	if err := svc.CheckFreeze(ctx, p.Env.Name, time.Now()); err != nil && p.BreakGlass == "" && cp.Action != store.ConfigRollback {
		if !f.dryRun {
			return err
		}
		fmt.Fprintf(c.stdout, "%v\n", err)
	}
	if f.dryRun {
		cp.Describe(c.stdout)
		return nil
	}
	fmt.Fprintf(c.stderr, "opsui: config release of %s to %s: %s; release %s (%s) stays live\n", p.App.Name, p.Env.Name,
		deploy.ChangeWords(cp.Changes), cp.Live.ReleaseID, deploy.ShortCommit(cp.Live.Commit))
	for _, ch := range cp.Changes {
		switch ch.Change {
		case deploy.ChangeAdded:
			fmt.Fprintf(c.stderr, "opsui:   + %s=%s\n", ch.Key, oneLine(ch.New))
		case deploy.ChangeRemoved:
			fmt.Fprintf(c.stderr, "opsui:   - %s (was %s)\n", ch.Key, oneLine(ch.Old))
		default:
			fmt.Fprintf(c.stderr, "opsui:   ~ %s: %s -> %s\n", ch.Key, oneLine(ch.Old), oneLine(ch.New))
		}
	}
	if p.Strategy.Kind == deploy.StrategyCanary && p.Strategy.CanaryWait == 0 && !isTTY(c.stdin) {
		return usageError{errors.New("a canary config release waits for a go-ahead: run it on a terminal, or give --canary-wait")}
	}
	if err := c.confirm("Apply this config release?", f.yes); err != nil {
		return err
	}
	if p.Env.Protected {
		if err := c.typedConfirm(p.Env.Name, f.yes); err != nil {
			return err
		}
	}
	io, done, err := c.connectFor(svc, &f.sshf, p)
	if err != nil {
		return err
	}
	defer done()
	out, err := svc.ConfigRelease(ctx, cp, io)
	done()
	rerr := c.report(out, err)
	if out != nil && out.Result == store.ReleaseSuccess && len(cp.Changes) > 0 {
		fmt.Fprintf(c.stdout, "the stored inventory now holds this change (env_per_environment.%s of %s): put it in your fleet file too, "+
			"or export it (opsui inventory export > fleet.yaml); an import of the old file would undo it\n", p.Env.Name, p.App.Name)
	}
	return rerr
}

// connectFor is connect for the hosts of plan p; a canary given
// --canary-wait goes ahead after the wait, not on a prompt.
func (c *cli) connectFor(svc *ops.Service, sshf *sshFlags, p *deploy.Plan) (ops.IO, func(), error) {
	io, done, err := c.connect(svc, sshf, p.Hosts)
	if err == nil && p.Strategy.Kind == deploy.StrategyCanary && p.Strategy.CanaryWait > 0 {
		io.Confirm = nil
	}
	return io, done, err
}

// rollbackConfig is opsui rollback --config: a config release restoring
// the env block from before the newest config release still in effect.
func (c *cli) rollbackConfig(ctx context.Context, svc *ops.Service, tg ops.Target, f *configFlags, to string) error {
	switch {
	case to != "":
		return usageError{errors.New("--to names a code release; --config goes back to the environment before the last config release")}
	case len(f.tf.hosts) > 0 || f.tf.role != "":
		return usageError{errors.New("--config changes the environment of every host of the environment: --host and --role do not apply")}
	}
	cp, err := svc.PlanConfigRollback(ctx, tg, f.sf.strategy(tg.Env))
	if err != nil {
		return planError(err)
	}
	if u := cp.RollbackOf; u != nil {
		fmt.Fprintf(c.stderr, "opsui: rolling the env of %s on %s back to before the config release of run %d (%s, by %s at %s)\n", tg.App.Name, tg.Env.Name,
			u.RunID.Int64, u.Subject, u.Operator, u.StartedAt.Time().Format("2006-01-02 15:04 MST"))
	}
	return c.runConfig(ctx, svc, f, cp)
}

func newEnvHistoryCmd(c *cli) *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "history [APP] --env E",
		Short: "The config releases of an environment, newest first, with the keys each changed",
		Long: `List the config releases (env set, env unset, env apply, rollback --config) of
the app in the environment, newest first: run, time, operator, result and the
keys each added (+), changed (~) or removed (-), plain values as the fleet
holds them, secrets by name only.`,
		Example: `  opsui env history shop --env production`,
		Args:    cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		rs, err := svc.EnvHistory(ctx, tg)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			fmt.Fprintf(c.stdout, "no config release of %s to %s is recorded\n", tg.App.Name, tg.Env.Name)
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tWHEN (UTC)\tOPERATOR\tACTION\tRESULT\tRELEASE\tCHANGES")
		for _, r := range rs {
			var changes []string
			for _, ch := range r.Config.Changes {
				switch ch.Change {
				case deploy.ChangeAdded:
					changes = append(changes, "+ "+ch.Key+"="+oneLine(ch.New))
				case deploy.ChangeRemoved:
					changes = append(changes, "- "+ch.Key)
				default:
					changes = append(changes, "~ "+ch.Key+": "+oneLine(ch.Old)+" -> "+oneLine(ch.New))
				}
			}
			if len(changes) == 0 {
				changes = []string{"(no key changes: rendered again, secrets re-read)"}
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.RunID.Int64, r.StartedAt.Time().Format("2006-01-02 15:04:05"), r.Operator,
				r.Config.Action, r.Result, r.ReleaseID, strings.Join(changes, "; "))
		}
		return tw.Flush()
	})
	tf.register(cmd)
	return cmd
}
