package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/store"
)

func newStoreCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect and maintain the database",
	}
	cmd.AddCommand(newStorePruneCmd(c), newStoreInfoCmd(c))
	return cmd
}

func newStorePruneCmd(c *cli) *cobra.Command {
	var (
		opt       store.PruneOptions
		olderThan string
	)
	cmd := &cobra.Command{
		Use:   "prune --keep-runs N | --older-than AGE",
		Short: "Delete the recorded output of old runs (release records and run results are kept)",
		Example: `  opsui store prune --older-than 90d
  opsui store prune --keep-runs 500 --dry-run`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan != "" {
				d, err := parseAge(olderThan)
				if err != nil {
					return usageError{fmt.Errorf("--older-than: %w", err)}
				}
				opt.OlderThan = d
			}
			if opt.KeepRuns < 0 {
				return usageError{fmt.Errorf("--keep-runs %d: must not be negative", opt.KeepRuns)}
			}
			if opt.KeepRuns == 0 && opt.OlderThan == 0 {
				return usageError{fmt.Errorf("say what to keep: --keep-runs N and/or --older-than AGE")}
			}
			return nil
		},
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		res, err := s.Prune(ctx, opt)
		if err != nil {
			return err
		}
		verb := "pruned"
		if opt.DryRun {
			verb = "would prune"
		}
		fmt.Fprintf(c.stdout, "%s the output of %d runs (%d chunks, %s)\n", verb, res.Runs, res.Chunks, humanBytes(res.Bytes))
		return nil
	})
	cmd.Flags().IntVar(&opt.KeepRuns, "keep-runs", 0, "keep the output of the N newest runs")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "prune runs started longer ago than AGE (e.g. 90d, 12h, 2w)")
	cmd.Flags().BoolVar(&opt.DryRun, "dry-run", false, "report what would be pruned, delete nothing")
	return cmd
}

// parseAge reads a Go duration extended with days (d) and weeks (w).
func parseAge(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseFloat(n, 64)
			if err != nil || v <= 0 {
				return 0, fmt.Errorf("invalid age %q (want e.g. 90d, 2w, 36h)", s)
			}
			return time.Duration(v * float64(unit)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("invalid age %q (want e.g. 90d, 2w, 36h)", s)
	}
	return d, nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

func newStoreInfoCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show where the database is and what it holds",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		st, err := s.Stats(ctx)
		if err != nil {
			return err
		}
		size := int64(0)
		if fi, err := os.Stat(s.Path()); err == nil {
			size = fi.Size()
		}
		fmt.Fprintf(c.stdout, "path:      %s (%s)\nschema:    version %d\nhosts:     %d in %d environments\napps:      %d\nreleases:  %d\nruns:      %d (%d with output)\n",
			s.Path(), humanBytes(size), store.SchemaVersion(), st.Hosts, st.Environments, st.Apps, st.Releases, st.Runs, st.RunsWithOutput)
		return nil
	})
	return cmd
}
