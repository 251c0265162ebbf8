package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
)

// Run kinds.
const (
	KindDeploy   = "deploy"
	KindRollback = "rollback"
	KindMigrate  = "migrate"
	KindFlush    = "flush"
	KindExec     = "exec"
	// KindRestart is opsui restart: app servers started again, batch by
	// batch through the balancer, on the release they already run.
	KindRestart = "restart"
	// KindMaintenance is opsui maintenance on|off: the balancer answers 503.
	KindMaintenance = "maintenance"
	// KindSetup is opsui setup: bare hosts made ready for a first deploy.
	KindSetup = "setup"
)

// Millis is a UTC instant stored as Unix milliseconds, so it sorts and
// indexes as a number; zero means "not yet".
type Millis int64

// MillisOf converts t.
func MillisOf(t time.Time) Millis { return Millis(t.UnixMilli()) }

// Time converts back; the zero Millis gives the zero Time.
func (m Millis) Time() time.Time {
	if m == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(m)).UTC()
}

// Run is one thing opsui did to the fleet.
type Run struct {
	ID           int64     `db:"id" json:"id"`
	Kind         string    `db:"kind" json:"kind"`
	App          string    `db:"app" json:"app,omitempty"`
	Env          string    `db:"env" json:"env,omitempty"`
	Operator     string    `db:"operator" json:"operator"`
	Command      string    `db:"command" json:"command,omitempty"`
	Args         string    `db:"args" json:"args"`
	StartedAt    Millis    `db:"started_at" json:"started_at"`
	FinishedAt   Millis    `db:"finished_at" json:"finished_at,omitempty"`
	Result       RunResult `db:"result" json:"result"`
	Summary      string    `db:"summary" json:"summary,omitempty"`
	OutputPruned bool      `db:"output_pruned" json:"output_pruned,omitempty"`
	// PID is the opsui process that ran it, so a run left "running" by a
	// process that died can be told from one still going.
	PID int `db:"pid" json:"-"`
	// Machine is the host name of the machine that ran it ("" for runs
	// recorded before opsui kept it): PID means something only there.
	Machine string `db:"machine" json:"machine,omitempty"`
	// OutputBytes and RecordedBytes sum the hosts' (RunHost): when they
	// differ, the record of some host's output was cut. Run and ListRuns
	// fill them.
	OutputBytes   int64 `db:"output_bytes" json:"output_bytes"`
	RecordedBytes int64 `db:"recorded_bytes" json:"recorded_bytes"`
	// UUID names the run in every database it is copied into (store copy).
	UUID string `db:"uuid" json:"uuid,omitempty"`
}

// runColumns selects a run with its hosts' output counts.
const runColumns = `r.*,
	(SELECT CAST(COALESCE(SUM(output_bytes), 0) AS BIGINT) FROM run_hosts WHERE run_id = r.id) AS output_bytes,
	(SELECT CAST(COALESCE(SUM(recorded_bytes), 0) AS BIGINT) FROM run_hosts WHERE run_id = r.id) AS recorded_bytes`

// RunHost is one host's part in a run.
type RunHost struct {
	ID         int64      `db:"id" json:"id"`
	RunID      int64      `db:"run_id" json:"run_id"`
	Host       string     `db:"host" json:"host"`
	Status     HostStatus `db:"status" json:"status"`
	Stage      string     `db:"stage" json:"stage,omitempty"`
	ExitCode   *int       `db:"exit_code" json:"exit_code,omitempty"`
	StartedAt  Millis     `db:"started_at" json:"started_at,omitempty"`
	FinishedAt Millis     `db:"finished_at" json:"finished_at,omitempty"`
	DurationMS int64      `db:"duration_ms" json:"duration_ms"`
	ErrorClass string     `db:"error_class" json:"error_class,omitempty"`
	Error      string     `db:"error" json:"error,omitempty"`
	// OutputBytes counts every byte of the host's stdout and stderr;
	// RecordedBytes how many of them the record keeps (fewer when the run's
	// record limit cut it). AppendOutput counts RecordedBytes itself.
	OutputBytes   int64 `db:"output_bytes" json:"output_bytes"`
	RecordedBytes int64 `db:"recorded_bytes" json:"recorded_bytes"`
}

// Cut reports whether the record of the host's output was cut.
func (h RunHost) Cut() bool { return h.OutputBytes > h.RecordedBytes }

// Chunk is a piece of one host's output.
type Chunk struct {
	Seq    int64  `db:"seq"`
	Stream string `db:"stream"` // stdout, stderr or meta
	At     Millis `db:"at"`
	Data   []byte `db:"data"`
}

// NewRun describes a run about to start.
type NewRun struct {
	Kind     string
	App      string
	Env      string
	Operator string
	Command  string
	Args     []string
	Hosts    []string
}

// StartRun records a run and its hosts (all queued) and returns the run with
// the id of each host's row, in the order given.
func (s *Store) StartRun(ctx context.Context, nr NewRun) (Run, []RunHost, error) {
	args, err := json.Marshal(nr.Args)
	if err != nil {
		return Run{}, nil, err
	}
	if nr.Args == nil {
		args = []byte("[]")
	}
	r := Run{Kind: nr.Kind, App: nr.App, Env: nr.Env, Operator: nr.Operator, Command: nr.Command,
		Args: string(args), StartedAt: MillisOf(time.Now()), Result: RunRunning, PID: os.Getpid(), Machine: Machine(), UUID: NewUUID()}
	hosts := make([]RunHost, len(nr.Hosts))
	err = s.Transaction(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &r.ID, tx.Rebind(`
			INSERT INTO runs (kind, app, env, operator, command, args, started_at, result, pid, machine, uuid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			r.Kind, r.App, r.Env, r.Operator, r.Command, r.Args, r.StartedAt, r.Result, r.PID, r.Machine, r.UUID)
		if err != nil {
			return fmt.Errorf("record %s run: %w", nr.Kind, err)
		}
		for i, h := range nr.Hosts {
			hosts[i] = RunHost{RunID: r.ID, Host: h, Status: HostQueued}
			if err := tx.GetContext(ctx, &hosts[i].ID, tx.Rebind(`INSERT INTO run_hosts (run_id, host) VALUES (?, ?) RETURNING id`), r.ID, h); err != nil {
				return fmt.Errorf("record run host %s: %w", h, err)
			}
		}
		return nil
	})
	return r, hosts, err
}

// UpdateRunHost writes a host's status, stage, exit code, timing, error and
// output byte count (which never goes down; RecordedBytes is AppendOutput's).
func (s *Store) UpdateRunHost(ctx context.Context, h RunHost) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`
		UPDATE run_hosts SET status = ?, stage = ?, exit_code = ?, started_at = ?, finished_at = ?,
			duration_ms = ?, error_class = ?, error = ?, output_bytes = `+s.greatest("output_bytes", "?")+`
		WHERE id = ?`),
		h.Status, h.Stage, h.ExitCode, h.StartedAt, h.FinishedAt, h.DurationMS, h.ErrorClass, h.Error, h.OutputBytes, h.ID)
	if err != nil {
		return fmt.Errorf("update run host %s: %w", h.Host, s.classify(err))
	}
	return nil
}

// AppendOutput stores chunks of one host's output in one transaction, and
// adds their stdout and stderr bytes to the host's recorded count.
// Sequence numbers are the caller's: the engine numbers each host's stream.
func (s *Store) AppendOutput(ctx context.Context, runHostID int64, chunks []Chunk) error {
	return s.AppendOutputs(ctx, []HostOutput{{RunHostID: runHostID, Chunks: chunks}})
}

// FinishRun records the result of a run.
func (s *Store) FinishRun(ctx context.Context, runID int64, result RunResult, summary string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs SET finished_at = ?, result = ?, summary = ? WHERE id = ?`),
		MillisOf(time.Now()), result, summary, runID)
	if err != nil {
		return fmt.Errorf("finish run %d: %w", runID, s.classify(err))
	}
	return nil
}

// AppendRunNotes adds lines to a run's summary: what a pipeline wants
// remembered beside the hosts' results (balancer steps, notifications).
func (s *Store) AppendRunNotes(ctx context.Context, runID int64, notes []string) error {
	if len(notes) == 0 {
		return nil
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs SET summary = summary || ? WHERE id = ?`), "\n"+strings.Join(notes, "\n"), runID)
	if err != nil {
		return fmt.Errorf("note run %d: %w", runID, s.classify(err))
	}
	return nil
}

// Run returns one run.
func (s *Store) Run(ctx context.Context, id int64) (Run, error) {
	var r Run
	if err := s.get(ctx, s.db, &r, `SELECT `+runColumns+` FROM runs r WHERE id = ?`, id); err != nil {
		return Run{}, fmt.Errorf("run %d: %w", id, err)
	}
	return r, nil
}

// RunHosts returns the hosts of a run in the order they were recorded.
func (s *Store) RunHosts(ctx context.Context, runID int64) ([]RunHost, error) {
	var hs []RunHost
	if err := s.sel(ctx, s.db, &hs, `SELECT * FROM run_hosts WHERE run_id = ? ORDER BY id`, runID); err != nil {
		return nil, fmt.Errorf("hosts of run %d: %w", runID, err)
	}
	return hs, nil
}

// OutputPageChunks is how many chunks StreamOutput reads at a time: a
// chunk holds about 64 KiB, so a page is about a megabyte.
const OutputPageChunks = 16

// OutputPage returns up to limit chunks of a host's output whose sequence
// number is above afterSeq, in order: keyset pagination over the primary
// key, so each page costs the same however far into the output it is.
func (s *Store) OutputPage(ctx context.Context, runHostID, afterSeq int64, limit int) ([]Chunk, error) {
	var cs []Chunk
	if err := s.sel(ctx, s.db, &cs, `SELECT seq, stream, at, data FROM run_output
		WHERE run_host_id = ? AND seq > ? ORDER BY seq LIMIT ?`, runHostID, afterSeq, limit); err != nil {
		return nil, fmt.Errorf("output of run host %d: %w", runHostID, err)
	}
	return cs, nil
}

// StreamOutput calls fn with each chunk of a host's output in order, one
// page at a time, so reading a host's output holds one page in memory, not
// all of it. An error from fn stops it and is returned.
func (s *Store) StreamOutput(ctx context.Context, runHostID int64, fn func(Chunk) error) error {
	return s.StreamOutputFrom(ctx, runHostID, OutputStart, fn)
}

// OutputStart is the keyset position before a host's first chunk.
const OutputStart = int64(math.MinInt64)

// StreamOutputFrom is StreamOutput from the chunks after keyset position
// after (OutputStart, or what OutputTail returned).
func (s *Store) StreamOutputFrom(ctx context.Context, runHostID, after int64, fn func(Chunk) error) error {
	for {
		page, err := s.OutputPage(ctx, runHostID, after, OutputPageChunks)
		if err != nil {
			return err
		}
		for _, c := range page {
			if err := fn(c); err != nil {
				return err
			}
		}
		if len(page) < OutputPageChunks {
			return nil
		}
		after = page[len(page)-1].Seq
	}
}

// OutputTail finds where a host's last tail bytes of output begin: the
// keyset position to stream from (StreamOutputFrom), and how many stdout
// and stderr bytes come before it. A replay that keeps each host's last
// lines reads those, not all that was recorded. The walk back reads the
// chunks' sizes, not their data.
func (s *Store) OutputTail(ctx context.Context, runHostID, tail int64) (after, skipped int64, err error) {
	const sizesPage = 256
	type size struct {
		Seq int64 `db:"seq"`
		N   int64 `db:"n"`
	}
	before, got := int64(math.MaxInt64), int64(0)
walk:
	for {
		var page []size
		if err := s.sel(ctx, s.db, &page, `SELECT seq, LENGTH(data) AS n FROM run_output
			WHERE run_host_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, runHostID, before, sizesPage); err != nil {
			return 0, 0, fmt.Errorf("output of run host %d: %w", runHostID, err)
		}
		for i, c := range page {
			if got += c.N; got >= tail {
				if i == len(page)-1 && len(page) < sizesPage {
					return OutputStart, 0, nil // the tail starts at the first chunk
				}
				after = c.Seq - 1
				break walk
			}
		}
		if len(page) < sizesPage {
			return OutputStart, 0, nil // the tail is everything
		}
		before = page[len(page)-1].Seq
	}
	if err := s.get(ctx, s.db, &skipped, `SELECT CAST(COALESCE(SUM(LENGTH(data)), 0) AS BIGINT) FROM run_output
		WHERE run_host_id = ? AND seq <= ? AND stream != 'meta'`, runHostID, after); err != nil {
		return 0, 0, fmt.Errorf("output of run host %d: %w", runHostID, err)
	}
	return after, skipped, nil
}

// Output returns a host's whole recorded output in order (at most the
// run's record limit); a replay should use StreamOutput.
func (s *Store) Output(ctx context.Context, runHostID int64) ([]Chunk, error) {
	var cs []Chunk
	err := s.StreamOutput(ctx, runHostID, func(c Chunk) error {
		cs = append(cs, c)
		return nil
	})
	return cs, err
}

// RunFilter narrows ListRuns.
type RunFilter struct {
	Kind  string
	Host  string
	Limit int
}

// ListRuns returns runs newest first. The runs are chosen first and
// their output sums computed after, for those alone: computed for every
// candidate before the sort, a host's past runs took 190 ms on SQLite
// with 100 000 runs (BenchmarkRecordQueries100k).
func (s *Store) ListRuns(ctx context.Context, f RunFilter) ([]Run, error) {
	q := `SELECT id FROM runs WHERE 1=1`
	var args []any
	if f.Kind != "" {
		q += ` AND kind = ?`
		args = append(args, f.Kind)
	}
	if f.Host != "" {
		q += ` AND id IN (SELECT run_id FROM run_hosts WHERE host = ?)`
		args = append(args, f.Host)
	}
	q += ` ORDER BY started_at DESC, id DESC`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	q = `SELECT ` + runColumns + ` FROM runs r WHERE r.id IN (` + q + `) ORDER BY r.started_at DESC, r.id DESC`
	var rs []Run
	if err := s.sel(ctx, s.db, &rs, q, args...); err != nil {
		return nil, fmt.Errorf("list runs: %w", err)
	}
	return rs, nil
}

// ReapStaleRuns marks as interrupted every run still "running" whose opsui
// process is gone (killed, machine rebooted), with its unfinished hosts, so no
// record claims work is going on that is not. It returns how many it marked.
// Only this machine's runs are judged: a teammate's run on a shared store
// has a pid of another machine.
func (s *Store) ReapStaleRuns(ctx context.Context) (int, error) {
	var stale []Run
	if err := s.sel(ctx, s.db, &stale, `SELECT * FROM runs WHERE result = ? AND machine IN ('', ?)`, RunRunning, Machine()); err != nil {
		return 0, fmt.Errorf("find stale runs: %w", err)
	}
	n := 0
	for _, r := range stale {
		if ProcessAlive(r.PID) {
			continue
		}
		err := s.Transaction(ctx, func(tx *sqlx.Tx) error {
			now := MillisOf(time.Now())
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE runs SET result = ?, finished_at = ?,
				summary = 'interrupted: the opsui process that ran it is gone' WHERE id = ? AND result = ?`),
				RunInterrupted, now, r.ID, RunRunning); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE run_hosts SET status = ?, error_class = 'cancelled',
				error = 'interrupted', finished_at = ? WHERE run_id = ? AND status IN (?, ?, ?)`),
				HostCancelled, now, r.ID, HostQueued, HostConnecting, HostRunning); err != nil {
				return err
			}
			// Its release, if it made one, is no longer being deployed either.
			_, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE releases SET result = ?, finished_at = ? WHERE run_id = ? AND result = ?`),
				ReleaseInterrupted, now, r.ID, ReleaseRunning)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("mark run %d interrupted: %w", r.ID, err)
		}
		n++
	}
	// Releases of runs an older opsui marked interrupted without them.
	if _, err := s.reapStaleReleases(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// Machine is this machine's host name, as runs record it.
func Machine() string {
	name, err := os.Hostname()
	if err != nil {
		return ""
	}
	return name
}

// ProcessAlive reports whether a process with this pid exists on this
// machine (one that is not ours to signal counts: EPERM). A run's or a
// lock's holder is judged dead by it only on the machine that recorded it.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// Took is how long the run took; zero while it runs.
func (r Run) Took() time.Duration {
	if r.FinishedAt == 0 {
		return 0
	}
	return time.Duration(r.FinishedAt-r.StartedAt) * time.Millisecond
}

// Took is how long the host's own part took.
func (h RunHost) Took() time.Duration { return time.Duration(h.DurationMS) * time.Millisecond }
