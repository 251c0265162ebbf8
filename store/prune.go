package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Defaults of the output policy: what one run records of each host, and how
// much recorded output the database keeps.
const (
	DefaultRecordLimit  = 16 << 20            // bytes of each host's output per run
	DefaultKeepOutput   = 90 * 24 * time.Hour // output of older runs is pruned
	DefaultOutputBudget = 2 << 30             // and of the oldest runs beyond this total
)

const (
	pruneBatch  = 50     // runs pruned per transaction
	unlimited   = "none" // the spelling of "no bound" in the config and flags
	durationDay = 24 * time.Hour
)

// OutputPolicy bounds recorded output. A zero field takes its default; a
// negative one turns that bound off.
type OutputPolicy struct {
	// RecordLimit is how many bytes of each host's stdout and stderr a run
	// records; the rest is counted (RunHost.OutputBytes), not kept.
	RecordLimit int64
	// KeepFor prunes the output of runs started longer ago.
	KeepFor time.Duration
	// MaxBytes prunes the output of the oldest runs while the recorded
	// output of all runs is larger.
	MaxBytes int64
}

// Resolved returns p with its defaults filled in.
func (p OutputPolicy) Resolved() OutputPolicy {
	if p.RecordLimit == 0 {
		p.RecordLimit = DefaultRecordLimit
	}
	if p.KeepFor == 0 {
		p.KeepFor = DefaultKeepOutput
	}
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultOutputBudget
	}
	return p
}

// String says the policy in words, for store info.
func (p OutputPolicy) String() string {
	p = p.Resolved()
	limit := "everything"
	if p.RecordLimit > 0 {
		limit = "up to " + HumanBytes(p.RecordLimit)
	}
	keep := "kept however old"
	if p.KeepFor > 0 {
		keep = "pruned after " + FormatAge(p.KeepFor)
	}
	budget := "no total size budget"
	if p.MaxBytes > 0 {
		budget = "the oldest pruned beyond " + HumanBytes(p.MaxBytes) + " in all"
	}
	return fmt.Sprintf("a run records %s of each host's output; output %s, %s", limit, keep, budget)
}

// SetOutputPolicy sets the policy the recorder and retention follow (from
// the config file and flags). Call it before the store is shared.
func (s *Store) SetOutputPolicy(p OutputPolicy) { s.policy = p }

// OutputPolicy returns the store's policy with its defaults filled in.
func (s *Store) OutputPolicy() OutputPolicy { return s.policy.Resolved() }

// PruneOptions choose whose output to delete. When KeepRuns and OlderThan
// are both set a run must satisfy both: beyond the newest KeepRuns and
// older than OlderThan. MaxBytes then deletes the output of the oldest of
// the other runs until what is left fits.
type PruneOptions struct {
	KeepRuns  int           // keep the output of this many newest runs
	OlderThan time.Duration // delete the output of runs started longer ago
	MaxBytes  int64         // keep at most this much recorded output in all
	DryRun    bool
}

// PruneResult says what was (or, on a dry run, would be) deleted.
type PruneResult struct {
	Runs   int
	Chunks int64
	Bytes  int64
}

// OutputSize is the recorded output the database holds.
type OutputSize struct {
	Runs  int   // runs whose output is kept
	Bytes int64 // their recorded stdout and stderr
}

// OutputSize sums the recorded output still kept, from the hosts' counts
// (cheap: it does not read run_output).
func (s *Store) OutputSize(ctx context.Context) (OutputSize, error) {
	var o OutputSize
	err := s.db.QueryRowxContext(ctx, s.db.Rebind(`SELECT (SELECT COUNT(*) FROM runs WHERE output_pruned = 0),
		(SELECT CAST(COALESCE(SUM(recorded_bytes), 0) AS BIGINT) FROM run_hosts WHERE run_id IN (SELECT id FROM runs WHERE output_pruned = 0))`)).
		Scan(&o.Runs, &o.Bytes)
	if err != nil {
		return OutputSize{}, fmt.Errorf("size of recorded output: %w", s.classify(err))
	}
	return o, nil
}

// ApplyRetention prunes the output the store's policy no longer keeps: of
// runs older than KeepFor, then of the oldest runs beyond MaxBytes. The
// recorder calls it when a run starts; it reads only runs and run_hosts
// unless there is something to delete.
func (s *Store) ApplyRetention(ctx context.Context) (PruneResult, error) {
	p := s.OutputPolicy()
	opt := PruneOptions{}
	if p.KeepFor > 0 {
		opt.OlderThan = p.KeepFor
	}
	if p.MaxBytes > 0 {
		opt.MaxBytes = p.MaxBytes
	}
	if opt.OlderThan == 0 && opt.MaxBytes == 0 {
		return PruneResult{}, nil
	}
	if due, err := s.retentionDue(ctx, opt); err != nil || !due {
		if err != nil {
			err = fmt.Errorf("output retention (%s): %w", p, err)
		}
		return PruneResult{}, err
	}
	res, err := s.Prune(ctx, opt)
	if err != nil {
		return res, fmt.Errorf("output retention (%s): %w", p, err)
	}
	return res, nil
}

// retentionDue says whether opt would prune anything, cheaply: one look at
// the oldest kept run (the partial index runs_with_output), the file's size,
// and only when the file is larger than the budget a sum of the hosts'
// recorded bytes.
func (s *Store) retentionDue(ctx context.Context, opt PruneOptions) (bool, error) {
	if opt.OlderThan > 0 {
		var old bool
		if err := s.get(ctx, s.db, &old, `SELECT EXISTS (SELECT 1 FROM runs WHERE output_pruned = 0 AND started_at < ?
			AND result != 'running')`, MillisOf(time.Now().Add(-opt.OlderThan))); err != nil {
			return false, err
		}
		if old {
			return true, nil
		}
	}
	if opt.MaxBytes <= 0 {
		return false, nil
	}
	if s.backend == Postgres { // no pages to count: sum the hosts' counts
		size, err := s.OutputSize(ctx)
		return err == nil && size.Bytes > opt.MaxBytes, err
	}
	// The recorded output lives in the file's used pages: while they fit in
	// the budget, so does it, and nothing needs summing.
	var pages, free, pageSize int64
	if err := s.get(ctx, s.db, &pages, "PRAGMA page_count"); err != nil {
		return false, err
	}
	if err := s.get(ctx, s.db, &free, "PRAGMA freelist_count"); err != nil {
		return false, err
	}
	if err := s.get(ctx, s.db, &pageSize, "PRAGMA page_size"); err != nil {
		return false, err
	}
	if (pages-free)*pageSize <= opt.MaxBytes {
		return false, nil
	}
	size, err := s.OutputSize(ctx)
	return err == nil && size.Bytes > opt.MaxBytes, err
}

// keptRun is a run whose output is kept, with its recorded size.
type keptRun struct {
	ID        int64     `db:"id"`
	StartedAt Millis    `db:"started_at"`
	Result    RunResult `db:"result"`
	Bytes     int64     `db:"bytes"`
}

// Prune deletes the recorded output of old, finished runs. Release records,
// runs and their per-host results are kept: only output goes, and each run
// whose output went is marked so the UI can say why it is empty. It deletes
// in batches of runs, one transaction each, so other opsui processes are
// not held up for the whole prune.
func (s *Store) Prune(ctx context.Context, opt PruneOptions) (PruneResult, error) {
	if opt.KeepRuns <= 0 && opt.OlderThan <= 0 && opt.MaxBytes <= 0 {
		return PruneResult{}, errors.New("prune: say what to keep (--keep-runs N, --older-than AGE and/or --max-size SIZE)")
	}
	ids, err := s.pruneSelect(ctx, opt)
	if err != nil {
		return PruneResult{}, fmt.Errorf("prune: %w", err)
	}
	res := PruneResult{Runs: len(ids)}
	for start := 0; start < len(ids); start += pruneBatch {
		batch := ids[start:min(start+pruneBatch, len(ids))]
		chunks, bytes, err := s.pruneRuns(ctx, batch, opt.DryRun)
		if err != nil {
			return res, fmt.Errorf("prune: %w", err)
		}
		res.Chunks += chunks
		res.Bytes += bytes
	}
	if !opt.DryRun && res.Chunks > 0 && s.backend == SQLite { // PostgreSQL's autovacuum reuses the space
		// Give the freed pages back to the file system.
		if _, err := s.db.ExecContext(ctx, s.db.Rebind("PRAGMA incremental_vacuum")); err != nil {
			return res, fmt.Errorf("prune: reclaim space: %w", s.classify(err))
		}
	}
	return res, nil
}

// pruneSelect picks the finished runs whose output goes, oldest first.
func (s *Store) pruneSelect(ctx context.Context, opt PruneOptions) ([]int64, error) {
	var kept []keptRun
	if err := s.sel(ctx, s.db, &kept, `SELECT r.id, r.started_at, r.result, CAST(COALESCE(SUM(rh.recorded_bytes), 0) AS BIGINT) AS bytes
		FROM runs r LEFT JOIN run_hosts rh ON rh.run_id = r.id
		WHERE r.output_pruned = 0 GROUP BY r.id ORDER BY r.started_at, r.id`); err != nil {
		return nil, err
	}
	newest := map[int64]bool{}
	if opt.KeepRuns > 0 {
		var ids []int64
		if err := s.sel(ctx, s.db, &ids, `SELECT id FROM runs ORDER BY started_at DESC, id DESC LIMIT ?`, opt.KeepRuns); err != nil {
			return nil, err
		}
		for _, id := range ids {
			newest[id] = true
		}
	}
	cutoff := MillisOf(time.Now().Add(-opt.OlderThan))
	byRule := opt.KeepRuns > 0 || opt.OlderThan > 0
	chosen := make([]bool, len(kept))
	var total int64
	for i, r := range kept {
		chosen[i] = byRule && r.Result != RunRunning &&
			(opt.KeepRuns <= 0 || !newest[r.ID]) && (opt.OlderThan <= 0 || r.StartedAt < cutoff)
		if !chosen[i] {
			total += r.Bytes
		}
	}
	if opt.MaxBytes > 0 {
		for i, r := range kept {
			if total <= opt.MaxBytes {
				break
			}
			if !chosen[i] && r.Result != RunRunning {
				chosen[i] = true
				total -= r.Bytes
			}
		}
	}
	var ids []int64
	for i, r := range kept {
		if chosen[i] {
			ids = append(ids, r.ID)
		}
	}
	return ids, nil
}

// pruneRuns deletes the output of runs (or only counts it, on a dry run)
// and marks them pruned, in one transaction.
func (s *Store) pruneRuns(ctx context.Context, runs []int64, dryRun bool) (chunks, bytes int64, err error) {
	in := "?" + strings.Repeat(", ?", len(runs)-1)
	args := make([]any, len(runs))
	for i, id := range runs {
		args[i] = id
	}
	output := `FROM run_output WHERE run_host_id IN (SELECT id FROM run_hosts WHERE run_id IN (` + in + `))`
	err = s.Transaction(ctx, func(tx *sqlx.Tx) error {
		if err := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT COUNT(*), CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) `+output), args...).
			Scan(&chunks, &bytes); err != nil {
			return err
		}
		if dryRun {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE `+output), args...); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE runs SET output_pruned = 1 WHERE id IN (`+in+`)`), args...)
		return err
	})
	return chunks, bytes, err
}

// HumanBytes writes n in binary units: 512 B, 16.0 MiB, 2.3 GiB.
func HumanBytes(n int64) string {
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

// ParseBytes reads a size: a number of bytes, or with a unit B, K/KB/KiB,
// M/MB/MiB, G/GB/GiB, T/TB/TiB (all binary: 1K = 1024), case-insensitive.
// "none" is -1: no bound.
func ParseBytes(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == unlimited {
		return -1, nil
	}
	num := strings.TrimRight(t, "bkmgti ")
	unit := strings.TrimSpace(t[len(num):])
	if strings.Trim(num, "0123456789.") != "" {
		num = "" // no signs, exponents or hex: a plain decimal number
	}
	shift := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10, "m": 20, "mb": 20, "mib": 20,
		"g": 30, "gb": 30, "gib": 30, "t": 40, "tb": 40, "tib": 40}
	sh, ok := shift[unit]
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if !ok || err != nil || v <= 0 || v*float64(int64(1)<<sh) > 1<<62 {
		return 0, fmt.Errorf("invalid size %q (want e.g. 16MiB, 512KiB, 2GiB: a positive number of bytes, KiB, MiB or GiB, or %s)", s, unlimited)
	}
	return int64(v * float64(int64(1)<<sh)), nil
}

// ParseAge reads an age: a Go duration extended with days (d) and weeks
// (w), e.g. 90d, 2w, 36h. "none" is -1: no bound.
func ParseAge(s string) (time.Duration, error) {
	if strings.TrimSpace(strings.ToLower(s)) == unlimited {
		return -1, nil
	}
	for suffix, unit := range map[string]time.Duration{"d": durationDay, "w": 7 * durationDay} {
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

// FormatAge writes a retention age in days when it is whole days.
func FormatAge(d time.Duration) string {
	if d >= durationDay && d%durationDay == 0 {
		return fmt.Sprintf("%d days", d/durationDay)
	}
	return d.String()
}
