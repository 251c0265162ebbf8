package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

func newRestartCmd(c *cli) *cobra.Command {
	var (
		tf          targetFlags
		sf          strategyFlags
		sshf        sshFlags
		workers     bool
		dryRun, yes bool
	)
	cmd := &cobra.Command{
		Use:   "restart [APP] --env E",
		Short: "Start the app servers again on the release they run, batch by batch",
		Long: `Start the app's servers again on the release they already run: what a changed
server configuration, a leaking worker or a wedged master needs, without a
deploy. Batch by batch like a deploy (--strategy all or rolling, --batch,
--max-fail): each batch is drained from the balancers, its app servers
restarted, health-checked against the live release and put back. A gunicorn
master opsui runs itself (process: daemon) is re-executed gracefully: a new
master beside the old one on the same sockets, the old one stopped once the
new one's workers have loaded the app, so not one request is refused. Under
supervisord the program is stopped and started, under systemd the unit
restarted (through sudo -n where the role says so). --workers restarts the
app's workers too.

A host that fails stops the restart before the next batch, and is named; one
that fails its health check afterwards stays out of the balancers. It runs
under the deploy lock and is recorded as a run of kind restart (opsui audit,
the console's past runs); no release is recorded: the release stays.`,
		Example: `  opsui restart shop --env production --strategy rolling --batch 1
  opsui restart shop --env production --host web3
  opsui restart shop --env staging --workers --dry-run`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := c.service(s)
		tg, err := tf.target(ctx, svc, args)
		if err != nil {
			return err
		}
		c.reportStale(ctx, s, tg.App.Name, tg.Env.Name)
		rp, err := svc.PlanRestart(ctx, ops.RestartRequest{Target: tg, Workers: workers, Strategy: sf.strategy(tg.Env)})
		if err != nil {
			return planError(err)
		}
		if dryRun {
			rp.Describe(c.stdout)
			return nil
		}
		p := rp.Plan
		fmt.Fprintf(c.stderr, "opsui: restart of %s in %s on %s (%s); release %s (%s) stays live\n", p.App.Name, p.Env.Name,
			deploy.Plural(len(p.Hosts), "host", "hosts"), hostList(p), rp.Live.ReleaseID, deploy.ShortCommit(rp.Live.Commit))
		if err := c.confirm("Restart these app servers?", yes); err != nil {
			return err
		}
		if p.Env.Protected {
			if err := c.typedConfirm(p.Env.Name, yes); err != nil {
				return err
			}
		}
		io, done, err := c.connectFor(svc, &sshf, p)
		if err != nil {
			return err
		}
		defer done()
		out, err := svc.Restart(ctx, rp, io)
		done()
		return c.reportRestart(rp, out, err)
	})
	tf.register(cmd)
	cmd.Flags().Var(&sf.kind, "strategy", "all or rolling (default: the environment's, else all)")
	cmd.Flags().Var(&sf.batches, "batch", "batch sizes of a rolling restart: N, P% or a list such as 1,5,25%")
	cmd.Flags().Var(&sf.maxFail, "max-fail", "failed hosts tolerated before no further batch starts: N or P% (default 0)")
	sshf.registerConn(cmd)
	cmd.Flags().BoolVar(&workers, "workers", false, "restart the app's background workers on the hosts too")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the batches and how each host's app server is restarted; change nothing")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmations (a protected environment's included)")
	return cmd
}

func hostList(p *deploy.Plan) string {
	names := make([]string, len(p.Hosts))
	for i, h := range p.Hosts {
		names[i] = h.Name
	}
	return strings.Join(names, ", ")
}

// reportRestart prints a restart's outcome, failures first, and turns it
// into the command's error.
func (c *cli) reportRestart(rp *deploy.RestartPlan, out *deploy.Outcome, err error) error {
	if out == nil {
		return err
	}
	w := c.stdout
	printHostOutcomes(w, out, "were not restarted", "restarted on")
	for _, n := range out.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "restart of %s in %s, release %s: %s; took %s; run %d\n", rp.Plan.App.Name, rp.Plan.Env.Name, out.ReleaseID,
		out.Words(), out.Timing.Total.Round(time.Millisecond), out.RunID)
	if err != nil {
		return err
	}
	if out.Result != store.ReleaseSuccess {
		return hostsFailedError{fmt.Sprintf("restart of %s in %s: %s", rp.Plan.App.Name, rp.Plan.Env.Name, out.Result.Words())}
	}
	return nil
}
