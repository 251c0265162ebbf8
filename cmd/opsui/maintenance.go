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

// newMaintenanceCmd is `opsui maintenance [on|off|check]`: the balancers
// answer 503 with a message while an app is in maintenance. Without a
// subcommand it lists what is in maintenance, from the record.
func newMaintenanceCmd(c *cli) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "maintenance [on|off|check]",
		Short: "Maintenance mode: the load balancers answer 503 with a message",
		Long: `While an app is in maintenance, every load balancer of its environment answers
each request with 503, the message and Retry-After; the app servers stay up, and
opsui's health checks go to them directly. opsui writes options.maintenance_file
and its message (PATH.message), then reloads the balancer, which checks the
configuration first: nginx includes the file in the app's server block (nginx -t,
with sudo -n where the role says sudo: true); HAProxy reads it as the map of its
frontend's maintenance rule (the role's reload). Every balancer or none: when one
fails, the others are put back. Without a subcommand, lists what is in maintenance.`,
		Example: `  opsui maintenance
  opsui maintenance on shop --env production --message "Back at 04:00 UTC" --retry-after 10m
  opsui maintenance off shop --env production`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		ms, err := c.service(s).MaintenanceStates(ctx, !all)
		if err != nil {
			return err
		}
		if len(ms) == 0 {
			fmt.Fprintln(c.stdout, "no app is in maintenance")
			return nil
		}
		now := time.Now()
		for _, m := range ms {
			printMaintenance(c, m, now)
		}
		return nil
	})
	cmd.Flags().BoolVar(&all, "all", false, "also list the apps whose maintenance is off, with when it ended")
	cmd.AddCommand(newMaintenanceSetCmd(c, true), newMaintenanceSetCmd(c, false), newMaintenanceCheckCmd(c))
	return cmd
}

// printMaintenance prints a recorded state in the header's words, with
// its message and Retry-After when on.
func printMaintenance(c *cli, m store.Maintenance, now time.Time) {
	fmt.Fprintln(c.stdout, ops.MaintenanceLine(m, now))
	if !m.On {
		return
	}
	run := ""
	if m.RunID != 0 {
		run = fmt.Sprintf(", run %d", m.RunID)
	}
	fmt.Fprintf(c.stdout, "  Retry-After %ds, by %s%s\n", m.RetryAfter, m.Operator, run)
	for l := range strings.SplitSeq(m.Message, "\n") {
		fmt.Fprintf(c.stdout, "  | %s\n", l)
	}
}

func newMaintenanceSetCmd(c *cli, on bool) *cobra.Command {
	var (
		tf         targetFlags
		sshf       sshFlags
		message    string
		retryAfter time.Duration
		yes        bool
	)
	word := "off"
	cmd := &cobra.Command{
		Use:   "off [APP] --env E",
		Short: "Take the app out of maintenance: the balancers send requests to it again",
		Args:  cobra.MaximumNArgs(1),
	}
	if on {
		word = "on"
		cmd.Use = "on [APP] --env E [--message TEXT] [--retry-after 5m]"
		cmd.Short = "Put the app in maintenance: every balancer answers 503 with the message"
	}
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		if on && tg.Env.Protected {
			fmt.Fprintf(c.stderr, "opsui: every request to %s in %s will be answered 503 until maintenance is off\n", tg.App.Name, tg.Env.Name)
			if err := c.typedConfirm(tg.Env.Name, yes); err != nil {
				return err
			}
		}
		io, done, err := c.connect(svc, &sshf, tg.Balancers())
		if err != nil {
			return err
		}
		defer done()
		req := ops.MaintenanceRequest{Target: tg, On: on, Message: message, RetryAfter: retryAfter}
		m, rec, err := svc.Maintenance(ctx, req, io.Emit)
		done()
		if err != nil {
			if rec != nil {
				fmt.Fprintf(c.stdout, "\nmaintenance %s failed (run %d); %s\n", word, rec.RunID(), ops.MaintenanceLine(m, time.Now()))
			}
			return opError(err)
		}
		fmt.Fprintln(c.stdout)
		printMaintenance(c, m, time.Now())
		return nil
	})
	registerMaintenanceTarget(cmd, &tf)
	sshf.registerConn(cmd)
	if on {
		cmd.Flags().StringVar(&message, "message", "", fmt.Sprintf("what the balancers answer (default %q); line breaks allowed", deploy.DefaultMaintenanceMessage))
		cmd.Flags().DurationVar(&retryAfter, "retry-after", 0, fmt.Sprintf("the Retry-After header, whole seconds (default %s)", deploy.DefaultRetryAfter))
		cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for a protected environment's name")
	}
	return cmd
}

// newMaintenanceCheckCmd reads what each balancer answers now and compares
// it with the record.
func newMaintenanceCheckCmd(c *cli) *cobra.Command {
	var (
		tf   targetFlags
		sshf sshFlags
	)
	cmd := &cobra.Command{
		Use:   "check [APP] --env E",
		Short: "Read each balancer's maintenance file and compare it with the record",
		Args:  cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		_, done, err := c.connect(svc, &sshf, tg.Balancers())
		if err != nil {
			return err
		}
		defer done()
		m, err := svc.MaintenanceOf(ctx, tg)
		if err != nil {
			return err
		}
		if m.Since != 0 {
			printMaintenance(c, m, time.Now())
		} else {
			fmt.Fprintf(c.stdout, "%s/%s: never put in maintenance\n", tg.App.Name, tg.Env.Name)
		}
		bs, err := svc.BalancerMaintenance(ctx, tg)
		if err != nil {
			return opError(err)
		}
		differ := 0
		for _, b := range bs {
			switch {
			case b.Err != nil:
				differ++
				fmt.Fprintf(c.stdout, "%s: cannot read: %v\n", b.Balancer, b.Err)
			case b.On != m.On:
				differ++
				fmt.Fprintf(c.stdout, "%s: maintenance %s, but the record says %s (%s)\n", b.Balancer, onOffWord(b.On), onOffWord(m.On), fileLine(b.Line))
			default:
				fmt.Fprintf(c.stdout, "%s: maintenance %s (%s)\n", b.Balancer, onOffWord(b.On), fileLine(b.Line))
			}
		}
		if differ > 0 {
			return fmt.Errorf("%d balancers do not answer as recorded: run opsui maintenance on or off again", differ)
		}
		return nil
	})
	registerMaintenanceTarget(cmd, &tf)
	sshf.registerConn(cmd)
	return cmd
}

// registerMaintenanceTarget registers --app and --env: maintenance works on
// the environment's balancers, the hosts of role lb, whatever the app's
// deploy hosts are.
func registerMaintenanceTarget(cmd *cobra.Command, tf *targetFlags) {
	tf.role = deploy.RoleLB
	cmd.Flags().StringVar(&tf.app, "app", "", "the app (default: the only one)")
	cmd.Flags().StringVar(&tf.env, "env", "", "the environment (required when there are several)")
}

func onOffWord(on bool) string {
	if on {
		return "on"
	}
	return "off"
}

func fileLine(s string) string {
	if s == "" {
		return "no file of opsui's"
	}
	return s
}
