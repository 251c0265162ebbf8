package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// flushFlags pick the cache hosts to flush.
type flushFlags struct {
	env, role string
	hosts     []string
	yes       bool
}

func (f *flushFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.env, "env", "", "hosts of this environment (required when there are several, unless --host names the hosts)")
	cmd.Flags().StringVar(&f.role, "role", cache.DefaultRole, "hosts with this role; their settings for it say what to flush")
	cmd.Flags().StringSliceVar(&f.hosts, "host", nil, "only these hosts (comma-separated or repeated)")
	cmd.Flags().BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation (a protected environment's included)")
}

func newFlushCmd(c *cli) *cobra.Command {
	var (
		ff    flushFlags
		sshf  sshFlags
		limit recordLimitFlag
	)
	cmd := &cobra.Command{
		Use:   "flush [--env E] [--role cache] [--host H,...] [--yes]",
		Short: "Empty the memcached or Redis caches of an environment",
		Long: `Flush the cache servers of the selected hosts (by default the environment's
hosts with the role cache) through SSH: memcached's flush_all, Redis's
FLUSHALL, or FLUSHDB N when the host's settings name a database. Each host
talks to its server from the host itself, with nc, redis-cli or python3,
and reports the keys the server held before and after.

What a host flushes comes from its settings for the role (role defaults
overlaid with the host's own): options kind (memcached or redis), address
(127.0.0.1), port (11211 or 6379), db, client, and flush (a command that
replaces the built-in one). A Redis password is never kept in the fleet:
options.password_env names an environment variable of this machine that
holds it, and it goes to the host on the SSH session's standard input,
never on a command line, in the output or in the record.

The flush asks for confirmation (default No) unless --yes; a protected
environment needs its name typed. The exit status is 1 when any host
failed. The run and each host's output, up to the record limit
(--record-limit), are recorded in the database.`,
		Example: `  opsui flush --env staging
  opsui flush --env production --host cache1 --yes
  REDIS_PASSWORD=... opsui flush --env production --role sessions`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		if err := limit.apply(s); err != nil {
			return err
		}
		svc := &ops.Service{Store: s, Operator: operator(), Args: os.Args[1:]}
		req, err := svc.FlushPlan(ctx, ops.FlushQuery{Env: ff.env, Role: ff.role, Names: ff.hosts})
		if err != nil {
			return opError(err)
		}
		specs, envs := req.Specs, req.Envs
		envList := make([]string, len(envs))
		for i, e := range envs {
			envList[i] = e.Name
		}
		fmt.Fprintf(c.stderr, "opsui: flushing %d cache%s of %s:\n", len(specs), plural(len(specs)), orNone(strings.Join(envList, ", ")))
		describeFlush(c.stderr, specs)
		if err := c.confirmFlush(envs, len(specs), ff.yes); err != nil {
			return err
		}

		pool, cfg, err := sshf.pool(c)
		if err != nil {
			return err
		}
		defer pool.Close()
		if n, err := s.ReapStaleRuns(ctx); err == nil && n > 0 {
			fmt.Fprintf(c.stderr, "opsui: %d runs whose opsui process died are marked interrupted\n", n)
		}
		req.Options = remote.RunOptions{Parallel: sshf.parallel, Timeout: sshf.timeout}
		svc.Conn, svc.SSH = pool, cfg
		out := newEventPrinter(c.stdout, hostNamesOf(req.Hosts), false, colorFor(c.stdout))
		rep, rec, err := svc.Flush(ctx, req, out.Event)
		var recErr *ops.RecordError
		if err != nil && !errors.As(err, &recErr) {
			return opError(err)
		}
		out.Flush()
		fmt.Fprintln(c.stdout)
		printFlushTable(c.stdout, rep)
		out.Summary(rep.Run, rec.RunID())
		noteCut(c, s, rec)
		if recErr != nil {
			return fmt.Errorf("record run: %w", recErr.Err)
		}
		if failed := rep.Failed(); len(failed) > 0 {
			return hostsFailedError{fmt.Sprintf("%d of %s not flushed", len(failed), deploy.Plural(len(rep.Hosts), "cache", "caches"))}
		}
		return nil
	})
	ff.register(cmd)
	sshf.register(cmd)
	limit.register(cmd)
	return cmd
}

// confirmFlush asks before flushing: a typed name for each protected
// environment, else one yes/no question.
func (c *cli) confirmFlush(envs []inventory.Environment, n int, yes bool) error {
	protected := false
	for _, e := range envs {
		if e.Protected {
			protected = true
			if err := c.typedConfirm(e.Name, yes); err != nil {
				return err
			}
		}
	}
	if protected {
		return nil
	}
	return c.confirm(fmt.Sprintf("Flush %d cache%s? Every key in them is lost.", n, plural(n)), yes)
}

// describeFlush lists what each host flushes, before asking.
func describeFlush(w io.Writer, specs []cache.Spec) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, s := range specs {
		note := ""
		if s.PasswordEnv != "" {
			note = "  (password from $" + s.PasswordEnv + ")"
		}
		fmt.Fprintf(tw, "  %s\t%s%s\n", s.Host, s.Server(), note)
	}
	tw.Flush()
}

// printFlushTable writes one row per host, failures first.
func printFlushTable(w io.Writer, rep cache.Report) {
	rows := slices.Clone(rep.Hosts)
	slices.SortStableFunc(rows, func(a, b cache.Result) int {
		switch {
		case !a.OK() && b.OK():
			return -1
		case a.OK() && !b.OK():
			return 1
		}
		return 0
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tCACHE\tKEYS BEFORE → AFTER\tRESULT")
	for _, r := range rows {
		result := "ok"
		if !r.OK() {
			result = string(r.Status)
			if r.Err != nil {
				result += ": " + hostErrText(r.Err)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Host, r.Server, r.Keys(), result)
	}
	tw.Flush()
}

// hostErrText drops the "host: class:" prefix of an ops.HostError, which
// the row already says.
func hostErrText(err error) string {
	var he *remote.HostError
	if errors.As(err, &he) && he.Err != nil {
		return fmt.Sprintf("%s: %v", he.Class, he.Err)
	}
	return err.Error()
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func orNone(s string) string {
	if s == "" {
		return "no environment"
	}
	return s
}
