package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// PruneOptions choose whose output to delete. When both are set a run must
// satisfy both: beyond the newest KeepRuns and older than OlderThan.
type PruneOptions struct {
	KeepRuns  int           // keep the output of this many newest runs
	OlderThan time.Duration // delete the output of runs started longer ago
	DryRun    bool
}

// PruneResult says what was (or, on a dry run, would be) deleted.
type PruneResult struct {
	Runs   int
	Chunks int64
	Bytes  int64
}

// Prune deletes the recorded output of old, finished runs. Release records,
// runs and their per-host results are kept: only output goes, and each run
// whose output went is marked so the UI can say why it is empty.
func (s *Store) Prune(ctx context.Context, opt PruneOptions) (PruneResult, error) {
	if opt.KeepRuns <= 0 && opt.OlderThan <= 0 {
		return PruneResult{}, errors.New("prune: say what to keep (--keep-runs N and/or --older-than AGE)")
	}
	where := []string{"r.result != 'running'", "r.output_pruned = 0"}
	var args []any
	if opt.KeepRuns > 0 {
		where = append(where, "r.id NOT IN (SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?)")
		args = append(args, opt.KeepRuns)
	}
	if opt.OlderThan > 0 {
		where = append(where, "r.started_at < ?")
		args = append(args, MillisOf(time.Now().Add(-opt.OlderThan)))
	}
	cond := strings.Join(where, " AND ")

	output := `FROM run_output WHERE run_host_id IN
		(SELECT rh.id FROM run_hosts rh JOIN runs r ON r.id = rh.run_id WHERE ` + cond + `)`

	var res PruneResult
	err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &res.Runs, `SELECT COUNT(*) FROM runs r WHERE `+cond, args...); err != nil {
			return err
		}
		if err := tx.QueryRowxContext(ctx, `SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) `+output, args...).
			Scan(&res.Chunks, &res.Bytes); err != nil {
			return err
		}
		if opt.DryRun || res.Runs == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `DELETE `+output, args...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE runs AS r SET output_pruned = 1 WHERE `+cond, args...)
		return err
	})
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune: %w", err)
	}
	if !opt.DryRun && res.Chunks > 0 {
		// Give the freed pages back to the file system.
		if _, err := s.db.ExecContext(ctx, "PRAGMA incremental_vacuum"); err != nil {
			return res, fmt.Errorf("prune: reclaim space: %w", s.classify(err))
		}
	}
	return res, nil
}
