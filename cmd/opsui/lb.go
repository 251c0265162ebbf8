package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
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
	cmd.RunE = c.withTarget(&tf, &sshf, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		if !force {
			held, err := svc.LiveLock(ctx, tg)
			if err != nil {
				return err
			}
			if held != "" {
				return fmt.Errorf("a deploy holds the lock of %s/%s (%s): its drained batch is on purpose; "+
					"pass --force if that deploy is dead", tg.App.Name, tg.Env.Name, held)
			}
		}
		return c.restoreBalancers(ctx, svc, tg, tf.hosts, manual, func() error {
			return c.confirm(fmt.Sprintf("Put these backends of %s/%s back in rotation?", tg.App.Name, tg.Env.Name), yes)
		})
	})
	tf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&manual, "include-manual", false, "also put back backends marked down by hand (without opsui's mark)")
	cmd.Flags().BoolVar(&force, "force", false, "change the balancers even while a deploy holds the lock")
	return cmd
}

// restoreBalancers prints what tg's balancers have out of rotation and,
// once confirm agrees, puts back opsui's drains (of hosts only, when
// given) and with manual the operator's too.
func (c *cli) restoreBalancers(ctx context.Context, svc *ops.Service, tg ops.Target, hosts []string,
	manual bool, confirm func() error) error {
	w := c.stdout
	bs, err := svc.Balancers(ctx, tg)
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
