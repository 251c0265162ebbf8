package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func newRunbookCmd(c *cli) *cobra.Command {
	// Where it runs, how, and the answers to its questions.
	var env string
	var hosts, confirm []string
	var ssh sshFlags
	var limit recordLimitFlag
	var asJSON, yes bool
	cmd := &cobra.Command{
		Use:   "runbook [NAME --env E [--host H,...]]",
		Short: "List the fleet file's runbooks, or run one on its roles' hosts",
		Long: `Without a name, list the runbooks of the fleet file (runbooks:): their name,
key in the console, roles, environments and command.

With a name, run that runbook's command on the hosts of its roles in the
environment given (--host narrows them), as exec does: each line prefixed
with its host, a summary, exit status 1 when a host failed. The run is
recorded as "runbook NAME" (opsui audit, the console's past runs).

On a protected environment the runbook shows its command and hosts and asks
for the environment's name, as exec does (--confirm-env without a
terminal; --yes alone is not enough). A runbook with confirm: true asks
yes/no first (--yes answers it).`,
		Example: `  opsui runbook
  opsui runbook restart-web --env staging
  opsui runbook restart-web --env production --host web1 --confirm-env production`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		if len(args) == 0 {
			if env != "" || len(hosts) > 0 {
				return usageError{fmt.Errorf("--env and --host choose where a runbook runs: name the runbook (opsui runbook NAME --env E)")}
			}
			svc := &ops.Service{Store: s}
			rbs, err := svc.Runbooks(ctx)
			if err != nil {
				return err
			}
			return printRunbooks(c, rbs, asJSON)
		}
		if err := limit.apply(s); err != nil {
			return err
		}
		f, err := s.LoadFleet(ctx)
		if err != nil {
			return err
		}
		plan, err := ops.PlanRunbook(f, ops.RunbookRequest{Name: args[0], Env: env, Hosts: hosts})
		if err != nil {
			return opError(err)
		}
		sel := selector{hosts: hostNamesOf(plan.Hosts)}
		guard := func(f *inventory.Fleet, hosts []inventory.Host) error {
			return c.confirmRunbook(f, plan, confirm, yes)
		}
		return c.runOnHosts(ctx, s, &sel, &ssh, asJSON, guard, func(svc *ops.Service, _ []inventory.Host, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
			return svc.Runbook(ctx, plan, remote.RunOptions{Parallel: ssh.parallel, Timeout: ssh.timeout}, emit)
		})
	})
	cmd.Flags().StringVar(&env, "env", "", "the environment to run in")
	cmd.Flags().StringSliceVar(&hosts, "host", nil, "only these of the runbook's hosts (comma-separated or repeated)")
	ssh.registerConn(cmd)
	cmd.Flags().DurationVar(&ssh.timeout, "timeout", 0, "per-host command timeout (default: the runbook's timeout:, else none)")
	limit.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "the list as JSON; a run: one JSON object per event, then the result")
	cmd.Flags().BoolVar(&yes, "yes", false, "answer a confirm: true runbook's question (a protected environment must still be named with --confirm-env)")
	cmd.Flags().StringSliceVar(&confirm, "confirm-env", nil, "the name of the protected environment, as the confirmation")
	return cmd
}

// confirmRunbook is a runbook's guard: on a protected environment its
// name, as exec asks it (which a confirm: true runbook needs no more
// than); else, for confirm: true, a yes/no after the command and hosts.
func (c *cli) confirmRunbook(f *inventory.Fleet, plan ops.RunbookPlan, named []string, yes bool) error {
	rb := plan.Runbook
	if plan.Protected != "" || len(named) > 0 {
		return c.confirmOnProtected(f, plan.Hosts, rb.Label(), rb.Run, named, yes)
	}
	if !rb.Confirm || yes {
		return nil
	}
	q := fmt.Sprintf("%s on %d %s", rb.Label(), len(plan.Hosts), pluralWord(len(plan.Hosts), "host", "hosts"))
	if !isTTY(c.stdin) {
		return notATerminal(q)
	}
	fmt.Fprintf(c.stderr, "Run %s on %d %s:\n  command: %s\n  hosts:   %s\n", rb.Label(), len(plan.Hosts),
		pluralWord(len(plan.Hosts), "host", "hosts"), rb.Run, hostsWithEnv(plan.Hosts))
	if err := c.ask("Run it?"); err != nil {
		return fmt.Errorf("%s not confirmed: nothing was run", rb.Label())
	}
	return nil
}

// printRunbooks lists the runbooks, one a line, or as JSON.
func printRunbooks(c *cli, rbs []inventory.Runbook, asJSON bool) error {
	if asJSON {
		if rbs == nil {
			rbs = []inventory.Runbook{}
		}
		return writeJSON(c.stdout, rbs)
	}
	if len(rbs) == 0 {
		fmt.Fprintln(c.stdout, "no runbooks: declare them in the fleet file's runbooks: and import it (see the README)")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKEY\tROLES\tENVIRONMENTS\tCONFIRM\tRUNS")
	for _, r := range rbs {
		roles, envs, ask, key := "any", "any", "-", "-"
		if len(r.Roles) > 0 {
			roles = strings.Join(r.Roles, ",")
		}
		if len(r.Envs) > 0 {
			envs = strings.Join(r.Envs, ",")
		}
		if r.Confirm {
			ask = "yes"
		}
		if r.Key != "" {
			key = r.Key
		}
		what := r.Description
		if what == "" {
			what = r.Run
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, key, roles, envs, ask, firstLine(what))
	}
	return tw.Flush()
}

// firstLine is s up to its first newline, marked when cut.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
