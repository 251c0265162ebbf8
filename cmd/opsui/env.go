package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
)

func newEnvCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Show an app's environment, or how its hosts' shared/.env differ",
		Long: `An app's environment is declared in the fleet file (apps[].env, with
env_per_environment and env_per_host overrides, the most specific winning) and
rendered by each deploy to shared/.env on every host (mode 600), which every
recipe of the app and its app server load. Secrets ({secret: NAME}) are read on
this machine at deploy time from the app's secrets: (an environment variable, a
0600 file or a command) and never stored: opsui keeps a keyed hash of each
value, which env diff compares.

env set, env unset and env apply are config releases: recorded like a deploy
(kind config; the code stays the live release), rendered on every host under
the deploy lock, then the app server's graceful reload and the health check,
batch by batch, with the previous shared/.env restored where it fails.
opsui rollback --config goes back to the environment before the last one.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newEnvShowCmd(c), newEnvDiffCmd(c), newEnvSetCmd(c), newEnvUnsetCmd(c), newEnvApplyCmd(c), newEnvHistoryCmd(c))
	return cmd
}

func newEnvShowCmd(c *cli) *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "show [APP] --env E [--host H]",
		Short: "The environment the fleet file gives each host (secrets masked)",
		Example: `  opsui env show shop --env production
  opsui env show shop --env production --host web2`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		hosts, err := svc.EnvShow(ctx, tg)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for i, h := range hosts {
			if i > 0 {
				fmt.Fprintln(tw)
			}
			fmt.Fprintf(tw, "%s (%s/%s):\n", h.Host, tg.App.Name, tg.Env.Name)
			for _, e := range h.Entries {
				fmt.Fprintf(tw, "  %s\t%s\t(%s)\n", e.Key, oneLine(e.Value), e.From)
			}
		}
		return tw.Flush()
	})
	tf.register(cmd)
	return cmd
}

func newEnvDiffCmd(c *cli) *cobra.Command {
	var (
		tf   targetFlags
		sshf sshFlags
	)
	cmd := &cobra.Command{
		Use:   "diff [APP] --env E",
		Short: "Keys whose value on a host differs from the fleet file or the other hosts",
		Long: `Read shared/.env on every host of the environment and compare each value, by
keyed hash, with the fleet file (a secret with the hash recorded when opsui
last rendered it there) and with the other hosts. No value is printed. A key
is "differs", "missing" (declared, not on the host), "extra" (on the host, not
declared) or "unknown" (a secret opsui never rendered there). Exit status 1
when any host differs or cannot be read.`,
		Example: `  opsui env diff shop --env production`,
		Args:    cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withTarget(&tf, &sshf, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		res, err := svc.EnvDiff(ctx, tg)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		for _, r := range res.Rows {
			note := ""
			if r.Disagree {
				note = "\t(hosts differ)"
			}
			fmt.Fprintf(tw, "%s\t%s%s\n", r.Key, strings.Join(r.States(), ", "), note)
		}
		var hosts []string
		for h := range res.Unreadable {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		for _, h := range hosts {
			fmt.Fprintf(tw, "%s\tunreadable: %s\n", h, res.Unreadable[h])
		}
		for h, lines := range res.BadLines {
			fmt.Fprintf(tw, "%s\tlines not KEY=value: %v\n", h, lines)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if !res.Clean() {
			return fmt.Errorf("env of %s/%s: %d keys differ, %d hosts unreadable", tg.App.Name, tg.Env.Name, len(res.Rows), len(res.Unreadable))
		}
		fmt.Fprintf(c.stdout, "%s/%s: the shared/.env of %d hosts match the fleet file\n", tg.App.Name, tg.Env.Name, len(res.Hosts))
		return nil
	})
	tf.register(cmd)
	sshf.registerConn(cmd)
	return cmd
}

// oneLine shows a multi-line value on one line.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", `\n`) }
