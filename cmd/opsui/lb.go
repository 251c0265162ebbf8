package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func newLBCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lb",
		Short: "Look at and repair an environment's load balancers",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newLBRestoreCmd(c))
	return cmd
}

func newLBRestoreCmd(c *cli) *cobra.Command {
	var (
		tf          targetFlags
		sshf        sshFlags
		yes, manual bool
		force       bool
	)
	cmd := &cobra.Command{
		Use:   "restore [APP] --env E [--host H]",
		Short: "Put back in rotation the backends a deploy left drained",
		Long: `Show which web hosts the environment's load balancers have out of rotation
and put back those opsui drained: a server line of the nginx upstream file
marked "` + deploy.DrainMark + `", or a drain recorded in opsui's database
(HAProxy, custom commands). A backend an operator marked down by hand (no
mark, no record) is kept unless --include-manual is given. While a deploy
holds the environment's lock nothing is changed (its batches are drained on
purpose) unless --force is given.`,
		Example: `  opsui lb restore --env production
  opsui lb restore shop --env production --host web2 --include-manual`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		tg, err := tf.load(ctx, s, args)
		if err != nil {
			return err
		}
		d, closePool, err := c.deployer(ctx, s, &sshf, tg)
		if err != nil {
			return err
		}
		defer closePool()
		if !force {
			if held := liveLock(ctx, s, d, tg); held != "" {
				return fmt.Errorf("a deploy holds the lock of %s/%s (%s): its drained batch is on purpose; "+
					"pass --force if that deploy is dead", tg.app.Name, tg.env.Name, held)
			}
		}
		return restoreBalancers(ctx, c.stdout, s, d, tg, tf.hosts, manual, func() error {
			return c.confirm(fmt.Sprintf("Put these backends of %s/%s back in rotation?", tg.app.Name, tg.env.Name), yes)
		})
	})
	tf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&manual, "include-manual", false, "also put back backends marked down by hand (without opsui's mark)")
	cmd.Flags().BoolVar(&force, "force", false, "change the balancers even while a deploy holds the lock")
	return cmd
}

// restoreBalancers prints what the environment's balancers have out of
// rotation and, once confirm agrees, puts back opsui's drains (of hosts
// only, when given) and with manual the operator's too.
func restoreBalancers(ctx context.Context, w io.Writer, s *store.Store, d *deploy.Deployer, tg target, hosts []string,
	manual bool, confirm func() error) error {
	bs, err := deploy.OpenBalancers(ctx, deploy.BalancerOptions{Conn: d.Conn, Fleet: tg.fleet, App: tg.app.Name, Env: tg.env.Name,
		Targets: d.Targets, Store: s, Operator: d.Operator})
	if err != nil {
		return err
	}
	n := 0
	for _, db := range bs.Drained() {
		if len(hosts) > 0 && !slices.Contains(hosts, db.Backend) {
			continue
		}
		switch {
		case db.Opsui:
			n++
			fmt.Fprintf(w, "%s: %s drained by opsui (%s)\n", db.Balancer, db.Backend, remote.Visible(db.Why))
		case manual:
			n++
			fmt.Fprintf(w, "%s: %s marked down by hand\n", db.Balancer, db.Backend)
		default:
			fmt.Fprintf(w, "%s: %s marked down by hand: kept (--include-manual puts it back)\n", db.Balancer, db.Backend)
		}
	}
	if n == 0 {
		fmt.Fprintln(w, "no backend to put back")
		return nil
	}
	if confirm != nil {
		if err := confirm(); err != nil {
			return err
		}
	}
	back, err := bs.PutBack(ctx, hosts, manual)
	if len(back) > 0 {
		fmt.Fprintf(w, "put back %s\n", strings.Join(back, ", "))
	}
	return err
}

// liveLock names a deploy lock held on tg's hosts by a deploy that may be
// running: not stale, and not held by a process of this machine that is
// gone (deadHolder). "" when there is none.
func liveLock(ctx context.Context, s *store.Store, d *deploy.Deployer, tg target) string {
	targets, deployTo := lockScope(d, tg)
	machine, _ := os.Hostname()
	for _, st := range deploy.InspectLocks(ctx, d.Conn, targets, deployTo) {
		if st.Held && !st.Stale() && deadHolder(ctx, s, st.Owner, machine) == "" {
			return fmt.Sprintf("%s on %s", st.Owner, st.Host)
		}
	}
	return ""
}
