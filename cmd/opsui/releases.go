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

func newRollbackCmd(c *cli) *cobra.Command {
	var (
		tf   targetFlags
		sf   strategyFlags
		sshf sshFlags
		to   string
		yes  bool
		cfg  bool
	)
	cmd := &cobra.Command{
		Use:   "rollback [APP] --env E [--to RELEASE | --config]",
		Short: "Switch an environment back to an earlier release",
		Long: `Switch every host of the environment back to the previous good release (or
the one named with --to), reload and check health, as a deploy does. The
release must still be on every host: opsui checks REVISION everywhere first and
refuses, naming the hosts, when any lacks it. The release left keeps its
result (BAD is only for a release that failed) and is not taken again by a
later rollback. Migrations are not reversed: the code goes back, the schema
stays.

With --config, the code stays and the environment goes back: the app's env for
the environment as it was before the last config release (env set, env unset)
still in effect, as a config release (see opsui env set --help). The record
keeps secret REFERENCES only, never values: the secrets named are read again
on this machine when the rollback runs.`,
		Example: `  opsui rollback shop --env production
  opsui rollback shop --env production --to 20261123101500
  opsui rollback shop --env production --config`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		if cfg {
			return c.rollbackConfig(ctx, svc, tg, &configFlags{tf: tf, sf: sf, sshf: sshf, yes: yes}, to)
		}
		c.reportStale(ctx, svc.Store, tg.App.Name, tg.Env.Name)
		rp, err := svc.PlanRollback(ctx, ops.RollbackRequest{Target: tg, To: to, Strategy: sf.strategy(tg.Env)})
		if err != nil {
			return planError(err)
		}
		choice := rp.Choice
		fmt.Fprintf(c.stderr, "opsui: rolling %s on %s back from release %s (%s %s) to %s (%s %s)\n", tg.App.Name, tg.Env.Name,
			choice.From.ReleaseID, deploy.ShortCommit(choice.From.Commit), choice.From.Subject,
			choice.Target.ReleaseID, deploy.ShortCommit(choice.Target.Commit), choice.Target.Subject)
		for _, r := range choice.Undone {
			fmt.Fprintf(c.stderr, "opsui:   undoes release %s: %s %s\n", r.ReleaseID, deploy.ShortCommit(r.Commit), r.Subject)
		}
		if kept := choice.MigrationsKept(); len(kept) > 0 {
			var ids []string
			for _, r := range kept {
				ids = append(ids, r.ReleaseID)
			}
			fmt.Fprintf(c.stderr, "opsui: WARNING: releases %s applied database migrations. Rolling back does NOT reverse them: "+
				"the code goes back, the schema stays.\n", strings.Join(ids, ", "))
		}
		if meets, err := svc.RollbackMeets(ctx, choice.Target, choice.Undone); err == nil {
			for _, m := range meets {
				fmt.Fprintf(c.stderr, "opsui: WARNING: %s\n", m)
			}
		}
		if err := c.confirm("Roll back?", yes); err != nil {
			return err
		}
		if tg.Env.Protected {
			if err := c.typedConfirm(tg.Env.Name, yes); err != nil {
				return err
			}
		}
		io, done, err := c.connect(svc, &sshf, tg.Hosts)
		if err != nil {
			return err
		}
		defer done()
		out, err := svc.Rollback(ctx, rp, io)
		done()
		return c.report(out, err)
	})
	tf.register(cmd)
	sf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().StringVar(&to, "to", "", "the release id to go back to (default: the previous good one)")
	cmd.Flags().BoolVar(&cfg, "config", false, "go back to the environment (env) before the last config release instead; the code stays")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func newReleasesCmd(c *cli) *cobra.Command {
	var (
		app, env, commit string
		limit            int
		asJSON           bool
		errsOf           string
	)
	cmd := &cobra.Command{
		Use:   "releases [--app A] [--env E] [--commit HASH]",
		Short: "List recorded deploys and rollbacks, newest first",
		Long: `List the releases recorded in the database. With --commit, answer "when did
this commit reach each environment, and who sent it" (a short hash is enough).`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		// A release whose opsui died is listed interrupted, not running.
		_, _ = s.ReapStaleRuns(ctx)
		svc := &ops.Service{Store: s}
		if errsOf != "" {
			limit = 0 // the release may be older than the listing's limit
		}
		out, err := svc.Releases(ctx, ops.ReleaseQuery{App: app, Env: env, Commit: commit, Limit: limit})
		if err != nil {
			return err
		}
		if errsOf != "" {
			return c.printReleaseErrors(ctx, svc, out, errsOf)
		}
		if asJSON {
			type row struct {
				store.Release
				Hosts    []string `json:"hosts"`
				Duration string   `json:"duration,omitempty"`
				RunID    int64    `json:"run_id,omitempty"`
				// Notes are the safety notes the table prints under it
				// (a break glass, a migration verdict), in its words.
				Notes []string `json:"notes,omitempty"`
				releaseExtras
			}
			rows := make([]row, len(out))
			for i, r := range out {
				rows[i] = row{Release: r, Hosts: r.HostList(), RunID: r.RunID.Int64}
				if r.FinishedAt != 0 {
					rows[i].Duration = r.Took().String()
				}
				notes, err := svc.SafetyNotes(ctx, []store.Release{r})
				if err != nil {
					return err
				}
				for _, n := range notes {
					rows[i].Notes = append(rows[i].Notes, strings.TrimPrefix(n, r.ReleaseID+" "+r.App+"/"+r.Env+": "))
				}
				if rows[i].releaseExtras, err = releaseExtrasOf(ctx, svc, r); err != nil {
					return err
				}
			}
			return writeJSON(c.stdout, rows)
		}
		if len(out) == 0 {
			if commit != "" {
				return fmt.Errorf("commit %s was never deployed", commit)
			}
			fmt.Fprintln(c.stdout, "no releases recorded")
			return nil
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "APP\tENV\tRELEASE\tKIND\tCOMMIT\tBRANCH\tOPERATOR\tWHEN (UTC)\tTOOK\tRESULT\tHOSTS\tSUBJECT")
		for _, r := range out {
			took := "-"
			if r.FinishedAt != 0 {
				took = r.Took().Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", r.App, r.Env, r.ReleaseID, r.Kind, deploy.ShortCommit(r.Commit),
				dash(r.Branch), r.Operator, r.StartedAt.Time().Format("2006-01-02 15:04:05"), took, r.Result.Words(), len(r.HostList()), r.Subject)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if err := c.printSafetyNotes(ctx, svc, out); err != nil {
			return err
		}
		return c.printWatchNotes(ctx, svc, out)
	})
	cmd.Flags().StringVar(&app, "app", "", "only this app")
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	cmd.Flags().StringVar(&commit, "commit", "", "only releases of this commit (full or short hash)")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many (0: all)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	releaseErrorsFlag(cmd, &errsOf)
	return cmd
}

func newPendingCmd(c *cli) *cobra.Command {
	var tf targetFlags
	cmd := &cobra.Command{
		Use:   "pending [REF] --app A --env E",
		Short: "List the commits between what an environment runs and a ref",
		Args:  cobra.MaximumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := &ops.Service{Store: s}
		tg, err := tf.target(ctx, svc, nil)
		if err != nil {
			return err
		}
		ref := ""
		if len(args) > 0 {
			ref = args[0]
		}
		p, err := svc.Pending(ctx, tg.App, tg.Env.Name, ref)
		if ue := (*deploy.UnknownRefError)(nil); errors.As(err, &ue) {
			return inputError{err} // a ref that names no commit is invalid input
		} else if err != nil {
			return err
		}
		if p.Current.ID == 0 {
			fmt.Fprintf(c.stdout, "%s has no successful release of %s yet: everything up to %s is pending\n", tg.Env.Name, tg.App.Name, deploy.ShortCommit(p.Target.Commit))
			return nil
		}
		cur, src := p.Current, p.Target
		fmt.Fprintf(c.stdout, "%s runs %s (release %s); %s pending up to %s:\n", tg.Env.Name, deploy.ShortCommit(cur.Commit), cur.ReleaseID, deploy.Plural(len(p.Commits), "commit", "commits"), deploy.ShortCommit(src.Commit))
		for _, cm := range p.Commits {
			fmt.Fprintf(c.stdout, "  %s  %-20s  %s\n", deploy.ShortCommit(cm.Hash), cm.Author, cm.Subject)
		}
		if len(p.Behind) > 0 {
			fmt.Fprintf(c.stdout, "warning: %d commits running on %s are not in %s: deploying it would roll them back\n", len(p.Behind), tg.Env.Name, deploy.ShortCommit(src.Commit))
		}
		return nil
	})
	tf.register(cmd)
	return cmd
}

func newUnlockCmd(c *cli) *cobra.Command {
	var (
		tf   targetFlags
		sshf sshFlags
		yes  bool
	)
	cmd := &cobra.Command{
		Use:   "unlock [APP] --env E",
		Short: "Break a deploy lock left by a deploy that died",
		Long: `Show who holds the deploy lock of an app's environment on each host and, after
a confirmation, remove it. Only a lock that is stale (its holder stopped
renewing it) or held by a process of this machine that is gone is broken
unless --force is given. Breaking is recorded. The backends the dead deploy
left drained are then put back in rotation (see opsui lb restore).`,
		Args: cobra.MaximumNArgs(1),
	}
	var force bool
	cmd.RunE = c.withTarget(&tf, &sshf, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
		locks, err := svc.Locks(ctx, tg)
		if err != nil {
			return err
		}
		var breaking []ops.HostLock
		for _, l := range locks {
			if !l.Held {
				fmt.Fprintf(c.stdout, "%s: not locked\n", l.Host)
				continue
			}
			state := "live"
			switch {
			case l.Dead != "":
				state = "held by a dead process: " + l.Dead
			case l.Stale():
				state = "STALE"
			}
			fmt.Fprintf(c.stdout, "%s: locked by %s, renewed %s ago (%s)\n", l.Host, l.Owner, l.Age.Round(time.Second), state)
			if l.Breakable(force) {
				breaking = append(breaking, l)
			}
		}
		if len(breaking) == 0 {
			fmt.Fprintln(c.stdout, "nothing to unlock (a live lock is broken only with --force)")
			return nil
		}
		if err := c.confirm(fmt.Sprintf("Break the deploy lock of %s/%s?", tg.App.Name, tg.Env.Name), yes); err != nil {
			return err
		}
		unlocked, err := svc.Unlock(ctx, tg, breaking)
		if err != nil {
			return err
		}
		var errs []error
		for _, u := range unlocked {
			if u.RecordErr != nil {
				// The hosts are unlocked; the record is not: say so, and fail.
				fmt.Fprintf(c.stderr, "opsui: warning: the lock was broken on %s but the store does not record it: %v\n", strings.Join(u.Freed, ", "), u.RecordErr)
				errs = append(errs, u.RecordErr)
			}
			fmt.Fprintf(c.stdout, "unlocked %s\n", strings.Join(u.Freed, ", "))
			if u.Err != nil {
				errs = append(errs, u.Err)
			}
		}
		// The dead deploy may have left a batch drained: put back what
		// opsui drained (an operator's own down stays).
		if err := c.restoreBalancers(ctx, svc, tg, nil, false, nil); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	tf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&force, "force", false, "also break a lock that is still being renewed")
	return cmd
}
