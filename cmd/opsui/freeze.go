package main

import (
	"context"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// newFreezeCmd is `opsui freeze add|list|rm`: the team's freeze windows,
// kept in the store beside the fleet file's.
func newFreezeCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "freeze",
		Short: "Freeze windows: deploys to an environment refused while one holds",
		Long: `A freeze refuses deploys to an environment inside its window, naming it; a
deploy given --break-glass "REASON" goes ahead, recorded with the operator and the
reason, sent to the app's webhooks and shown in releases. The fleet file declares
freezes under freezes:; these commands add the team's own to the store.`,
	}
	cmd.AddCommand(newFreezeAddCmd(c), newFreezeListCmd(c), newFreezeRmCmd(c))
	return cmd
}

func newFreezeAddCmd(c *cli) *cobra.Command {
	var fz inventory.Freeze
	var weekly bool
	cmd := &cobra.Command{
		Use:   "add --env E --reason R --start S --end E [--weekly] [--tz ZONE]",
		Short: "Add a freeze window for the team",
		Example: `  opsui freeze add --env production --reason "Black Friday" --start "2026-11-27 00:00" --end "2026-11-30 08:00" --tz Europe/Paris
  opsui freeze add --env production --reason "no weekend deploys" --weekly --start "Fri 16:00" --end "Mon 08:00" --tz Europe/Paris`,
		Args: cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		if weekly {
			fz.Every = inventory.FreezeWeekly
		}
		svc := c.service(s)
		out, err := svc.AddFreeze(ctx, fz)
		if err != nil {
			return opError(err)
		}
		fmt.Fprintf(c.stdout, "freeze %d added: %s\n", out.ID, out.Freeze)
		return nil
	})
	cmd.Flags().StringVar(&fz.Env, "env", "", "the environment frozen")
	cmd.Flags().StringVar(&fz.Reason, "reason", "", "why: what a refused deploy says")
	cmd.Flags().StringVar(&fz.Start, "start", "", `when it starts: "2026-11-27 00:00", or "Fri 16:00" with --weekly`)
	cmd.Flags().StringVar(&fz.End, "end", "", `when it ends (not included): as --start`)
	cmd.Flags().BoolVar(&weekly, "weekly", false, "every week, from --start to --end (weekday and time)")
	cmd.Flags().StringVar(&fz.TimeZone, "tz", "", "the time zone of --start and --end, an IANA name (default UTC)")
	return cmd
}

func newFreezeListCmd(c *cli) *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "list [--env E]",
		Short: "List freeze windows, the fleet file's and the team's, saying which hold now",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		fs, err := c.service(s).Freezes(ctx, env)
		if err != nil {
			return err
		}
		if len(fs) == 0 {
			fmt.Fprintln(c.stdout, "no freezes")
			return nil
		}
		now := time.Now()
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tENV\tSOURCE\tWINDOW\tZONE\tNOW\tREASON\tBY")
		for _, fz := range fs {
			window := fz.Start + " to " + fz.End
			if fz.Every == inventory.FreezeWeekly {
				window = "every week " + window
			}
			state := "-"
			if until, ok := fz.ActiveAt(now); ok {
				state = "FROZEN until " + until.Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", fz.ID, fz.Env, fz.Source, window, dash(fz.TimeZone), state, fz.Reason, dash(fz.CreatedBy))
		}
		return tw.Flush()
	})
	cmd.Flags().StringVar(&env, "env", "", "only this environment")
	return cmd
}

func newFreezeRmCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "rm ID",
		Short: "Remove a team freeze (the fleet file's are removed from the file)",
		Args:  cobra.ExactArgs(1),
		RunE: c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return usageError{fmt.Errorf("freeze id %q: want the number freeze list shows", args[0])}
			}
			fz, err := c.service(s).RemoveFreeze(ctx, id)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "freeze %d removed: %s\n", id, fz.Freeze)
			return nil
		}),
	}
}

// printSafetyNotes prints, under the releases table, the releases let
// through a freeze and those whose migrations were not safe.
func (c *cli) printSafetyNotes(ctx context.Context, svc *ops.Service, rs []store.Release) error {
	notes, err := svc.SafetyNotes(ctx, rs)
	if err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(c.stdout, n)
	}
	return nil
}
