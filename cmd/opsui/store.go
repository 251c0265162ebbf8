package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/store"
)

func newStoreCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Inspect and maintain the database",
	}
	cmd.AddCommand(newStorePruneCmd(c), newStoreInfoCmd(c), newStoreCopyCmd(c))
	return cmd
}

func newStoreCopyCmd(c *cli) *cobra.Command {
	var (
		to    string
		merge bool
	)
	cmd := &cobra.Command{
		Use:   "copy --to postgres://… [--merge]",
		Short: "Copy this database's fleet and history into another (a team's PostgreSQL)",
		Long: `Copy the fleet, runs with their output, releases, locks, drained backends and
audit log of the database --db names into the one --to names (a postgres://
URL, or a SQLite file), in one transaction: all or nothing. A target that
holds a fleet or history is refused unless --merge is given: then runs,
releases and audit entries already there are kept, not duplicated (each has
a stable UUID), so the histories of several laptops merge and running a
copy twice adds nothing; environments, apps and hosts the target lacks are
added and those it has are kept as they are.`,
		Example: `  opsui store copy --to postgres://alice@db.example/opsui
  opsui --db ~/old.db store copy --to postgres://alice@db.example/opsui --merge`,
		Args: cobra.NoArgs,
		PreRunE: func(*cobra.Command, []string) error {
			if to == "" {
				return usageError{fmt.Errorf("say where to copy to: --to postgres://… (or a SQLite file)")}
			}
			return nil
		},
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		dst, err := store.Open(ctx, to)
		if err != nil {
			return err
		}
		defer dst.Close()
		if dst.Backend() == s.Backend() && dst.Path() == s.Path() {
			return usageError{fmt.Errorf("--to names the database being copied (%s)", s.Path())}
		}
		dst.SetOperator(operator())
		res, err := store.Copy(ctx, s, dst, merge)
		if err != nil {
			return fmt.Errorf("copy into %s: %w", dst.Path(), err)
		}
		fmt.Fprintf(c.stdout, "copied into %s: %d runs (%d output chunks), %d releases, %d locks, %d drained backends, %d audit entries, %d hosts, %d other records (migration checks, watch verdicts, errors, freezes, maintenance)\n",
			dst.Path(), res.Runs, res.Chunks, res.Releases, res.Locks, res.Drained, res.Audit, res.HostsAdded, res.Records)
		if res.RunsKept+res.ReleasesKept > 0 {
			fmt.Fprintf(c.stdout, "already there, kept: %d runs, %d releases\n", res.RunsKept, res.ReleasesKept)
		}
		return nil
	})
	cmd.Flags().StringVar(&to, "to", "", "the database to copy into: postgres://… or a SQLite file")
	cmd.Flags().BoolVar(&merge, "merge", false, "merge into a database that holds a fleet or history already")
	return cmd
}

func newStorePruneCmd(c *cli) *cobra.Command {
	var (
		opt       store.PruneOptions
		olderThan string
		maxSize   string
	)
	cmd := &cobra.Command{
		Use:   "prune --keep-runs N | --older-than AGE | --max-size SIZE",
		Short: "Delete the recorded output of old runs (release records and run results are kept)",
		Long: `Delete the recorded output of old runs; the runs, their hosts' results and
the release records stay, marked as pruned. With --keep-runs and --older-than
a run must match both; --max-size then deletes the output of the oldest other
runs until the rest fits. opsui also prunes on its own, when a run starts,
by the retention that opsui store info shows (config file, output: keep and
max_size).`,
		Example: `  opsui store prune --older-than 90d
  opsui store prune --keep-runs 500 --dry-run
  opsui store prune --max-size 500MiB`,
		Args: cobra.NoArgs,
		PreRunE: func(cmd *cobra.Command, _ []string) error {
			if olderThan != "" {
				d, err := parseAge(olderThan)
				if err != nil {
					return usageError{fmt.Errorf("--older-than: %w", err)}
				}
				opt.OlderThan = d
			}
			if maxSize != "" {
				n, err := store.ParseBytes(maxSize)
				if err != nil || n < 0 {
					return usageError{fmt.Errorf("--max-size: invalid size %q (want e.g. 500MiB, 2GiB)", maxSize)}
				}
				opt.MaxBytes = n
			}
			if opt.KeepRuns < 0 {
				return usageError{fmt.Errorf("--keep-runs %d: must not be negative", opt.KeepRuns)}
			}
			if opt.KeepRuns == 0 && opt.OlderThan == 0 && opt.MaxBytes == 0 {
				return usageError{fmt.Errorf("say what to keep: --keep-runs N, --older-than AGE and/or --max-size SIZE")}
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
		fmt.Fprintf(c.stdout, "%s the output of %d runs (%d chunks, %s)\n", verb, res.Runs, res.Chunks, store.HumanBytes(res.Bytes))
		return nil
	})
	cmd.Flags().IntVar(&opt.KeepRuns, "keep-runs", 0, "keep the output of the N newest runs")
	cmd.Flags().StringVar(&olderThan, "older-than", "", "prune runs started longer ago than AGE (e.g. 90d, 12h, 2w)")
	cmd.Flags().StringVar(&maxSize, "max-size", "", "then prune the oldest runs until the recorded output fits in SIZE (e.g. 2GiB)")
	cmd.Flags().BoolVar(&opt.DryRun, "dry-run", false, "report what would be pruned, delete nothing")
	return cmd
}

// parseAge reads a Go duration extended with days (d) and weeks (w).
func parseAge(s string) (time.Duration, error) {
	d, err := store.ParseAge(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("invalid age %q (want e.g. 90d, 2w, 36h)", s)
	}
	return d, err
}

// applyOutputPolicy gives the store the config file's output settings
// (record limit and retention), for every command that opens it, and the
// operator its inventory changes are recorded as in the audit log.
func applyOutputPolicy(s *store.Store) error {
	s.SetOperator(operator())
	path, err := store.ConfigPath(os.Getenv)
	if err != nil {
		return err
	}
	p, err := store.LoadOutputPolicy(path)
	if err != nil {
		return err
	}
	s.SetOutputPolicy(p)
	return nil
}

// recordLimitFlag is --record-limit, for the commands that record output;
// it overrides the config file's output.record_limit.
type recordLimitFlag struct{ value string }

func (f *recordLimitFlag) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.value, "record-limit", "",
		fmt.Sprintf("record at most SIZE of each host's output, counting the rest (e.g. 1MiB, 1GiB; none: all; default: the config's output.record_limit, else %s)",
			store.HumanBytes(store.DefaultRecordLimit)))
}

// apply sets the flag's limit on the store, before the run is recorded.
func (f recordLimitFlag) apply(s *store.Store) error {
	if f.value == "" {
		return nil
	}
	n, err := store.ParseBytes(f.value)
	if err != nil {
		return usageError{fmt.Errorf("--record-limit: %w", err)}
	}
	p := s.OutputPolicy()
	p.RecordLimit = n
	s.SetOutputPolicy(p)
	return nil
}

func newStoreInfoCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Show which database opsui uses (backend, server, version, size) and what it holds",
		Args:  cobra.NoArgs,
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, _ []string) error {
		st, err := s.Stats(ctx)
		if err != nil {
			return err
		}
		out, err := s.OutputSize(ctx)
		if err != nil {
			return err
		}
		in, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if in.Backend == store.Postgres {
			fmt.Fprintf(c.stdout, "backend:   PostgreSQL %s\nserver:    %s\nurl:       %s\nsize:      %s\n",
				in.Version, in.Server, in.Target, store.HumanBytes(in.Bytes))
		} else {
			size := in.Bytes
			if fi, err := os.Stat(s.Path()); err == nil {
				size = fi.Size()
			}
			fmt.Fprintf(c.stdout, "backend:   SQLite %s\npath:      %s (%s)\n", in.Version, s.Path(), store.HumanBytes(size))
		}
		fmt.Fprintf(c.stdout, "schema:    version %d\nhosts:     %d in %d environments\napps:      %d\nreleases:  %d\nruns:      %d (%d with output)\n",
			store.SchemaVersion(), st.Hosts, st.Environments, st.Apps, st.Releases, st.Runs, st.RunsWithOutput)
		fmt.Fprintf(c.stdout, "output:    %s recorded, in %d runs\nretention: %s\n", store.HumanBytes(out.Bytes), out.Runs, s.OutputPolicy())
		return nil
	})
	return cmd
}

// noteCut tells the operator when the record of some hosts' output was cut
// (their terminal got all of it).
func noteCut(c *cli, s *store.Store, rec *record.Recorder) {
	if n := rec.Stats().Cut; n > 0 {
		fmt.Fprintf(c.stderr, "opsui: the record of run %d keeps the first %s of each host's output: %d host%s printed more (--record-limit)\n",
			rec.RunID(), store.HumanBytes(s.OutputPolicy().RecordLimit), n, plural(int(n)))
	}
}
