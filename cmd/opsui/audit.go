package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

func newAuditCmd(c *cli) *cobra.Command {
	var (
		since  string
		limit  int
		asJSON bool
		q      ops.AuditQuery
	)
	cmd := &cobra.Command{
		Use:   "audit [--since 24h] [--json]",
		Short: "List who changed what: deploys, rollbacks, migrations, flushes, execs, unlocks, inventory edits",
		Long: `List every action that changed something, newest first, one line each, with
its operator (user@machine, or $OPSUI_OPERATOR): deploys, rollbacks,
migrations, cache flushes and ad-hoc commands (with their result), deploy
locks broken with opsui unlock, and inventory imports and edits (the hosts,
apps and fields changed, never their values). With a team's shared
PostgreSQL store it answers for every operator.`,
		Example: `  opsui audit
  opsui audit --since 7d --json`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if since != "all" {
				d, err := parseAge(since)
				if err != nil || d == 0 {
					return usageError{fmt.Errorf("--since %q: want an age such as 24h, 7d, 2w, or all", since)}
				}
				q.Since = d
			}
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d: must not be negative", limit)}
			}
			q.Limit = limit
			return nil
		},
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		svc := &ops.Service{Store: s}
		entries, err := svc.Audit(ctx, q)
		if err != nil {
			return err
		}
		if asJSON {
			if entries == nil {
				entries = []store.AuditEntry{}
			}
			return writeJSON(c.stdout, entries)
		}
		if len(entries) == 0 {
			fmt.Fprintf(c.stdout, "nothing changed in the last %s\n", since)
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN (UTC)\tOPERATOR\tACTION\tTARGET\tRESULT\tWHAT")
		for _, e := range entries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Time().Format("2006-01-02 15:04:05"), e.Operator, e.Action,
				dash(auditTarget(e)), dash(e.Result), auditWhat(e))
		}
		return tw.Flush()
	})
	cmd.Flags().StringVar(&since, "since", "24h", "only actions this recent (e.g. 1h, 7d, 2w; all: everything)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// auditTarget is "shop → production", or the one of them an action has.
func auditTarget(e store.AuditEntry) string {
	switch {
	case e.App != "" && e.Env != "":
		return e.App + " → " + e.Env
	case e.App != "":
		return e.App
	}
	return e.Env
}

// auditWhat says what an action did: a release and its commit, a command,
// a lock's holder, an inventory change; a run's number to open it.
func auditWhat(e store.AuditEntry) string {
	what := e.What
	if e.ReleaseID != "" {
		what = fmt.Sprintf("release %s (%s)", e.ReleaseID, deploy.ShortCommit(e.Commit))
	}
	switch {
	case e.RunID != 0 && e.Action != store.ActionUnlock && what != "":
		what = fmt.Sprintf("run %d: %s", e.RunID, what)
	case e.RunID != 0 && e.Action != store.ActionUnlock:
		what = fmt.Sprintf("run %d", e.RunID)
	}
	return what
}
