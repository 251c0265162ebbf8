package store

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// SetRunBatch records that run runID is switching batch of batches (from
// 1): how far a deploy under way is, for teammates who watch it.
func (s *Store) SetRunBatch(ctx context.Context, runID int64, batch, batches int) error {
	if batch < 1 || batch > batches {
		return fmt.Errorf("run %d: batch %d of %d: a batch is numbered from 1 to the number of batches", runID, batch, batches)
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`INSERT INTO run_progress (run_id, batch, batches, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id) DO UPDATE SET batch = excluded.batch, batches = excluded.batches, at = excluded.at`),
		runID, batch, batches, MillisOf(time.Now()))
	if err != nil {
		return fmt.Errorf("record batch %d/%d of run %d: %w", batch, batches, runID, s.classify(err))
	}
	return nil
}

// FollowedHost is a run host's row with the sequence number of its last
// recorded chunk (0: none yet), so a reader that has the chunks up to
// some seq knows whether there is more without reading it.
type FollowedHost struct {
	RunHost
	LastSeq int64 `db:"last_seq"`
}

// RunState is a run as it stands now: its row, the batch it is in (0 of
// 0 when it has none) and each host's row, in the order recorded.
type RunState struct {
	Run            Run
	Batch, Batches int
	Hosts          []FollowedHost
}

// RunState reads run runID as it stands, in three small queries whatever
// the run's output: each host's last seq is one index lookup.
func (s *Store) RunState(ctx context.Context, runID int64) (RunState, error) {
	var st RunState
	var err error
	if st.Run, err = s.Run(ctx, runID); err != nil {
		return RunState{}, err
	}
	var progress []struct {
		Batch   int `db:"batch"`
		Batches int `db:"batches"`
	}
	if err := s.sel(ctx, s.db, &progress, `SELECT batch, batches FROM run_progress WHERE run_id = ?`, runID); err != nil {
		return RunState{}, fmt.Errorf("batch of run %d: %w", runID, err)
	}
	if len(progress) == 1 {
		st.Batch, st.Batches = progress[0].Batch, progress[0].Batches
	}
	if err := s.sel(ctx, s.db, &st.Hosts, `SELECT h.*,
		COALESCE((SELECT MAX(seq) FROM run_output WHERE run_host_id = h.id), 0) AS last_seq
		FROM run_hosts h WHERE h.run_id = ? ORDER BY h.id`, runID); err != nil {
		return RunState{}, fmt.Errorf("hosts of run %d: %w", runID, err)
	}
	return st, nil
}

// outputChannel is the PostgreSQL notification channel run_hosts'
// trigger (migration 15) notifies with the run's id on every write of a
// host's row: a state change, or output (AppendOutput counts it there).
const outputChannel = "opsui_output"

// WatchRunOutput signals on the returned channel whenever run runID may
// have new output, host states or batch, or has ended, until ctx ends:
// every poll (SQLite's way, and the fallback) and, on PostgreSQL, as
// soon as a write of the run's is committed (LISTEN on the output's and
// the runs' channels, other runs' notifications ignored).
// Signals coalesce: one waiting means "read again".
func (s *Store) WatchRunOutput(ctx context.Context, runID int64, poll time.Duration) <-chan struct{} {
	return s.watch(ctx, poll, []string{outputChannel, runsChannel}, strconv.FormatInt(runID, 10))
}

// watch signals on the returned channel every poll and, on PostgreSQL,
// on each notification on channels whose payload is payload ("" for any),
// until ctx ends. Signals coalesce: one waiting means "read again". A
// lost connection to the server leaves the polling on and is retried
// every poll.
func (s *Store) watch(ctx context.Context, poll time.Duration, channels []string, payload string) <-chan struct{} {
	ch := make(chan struct{}, 1)
	signal := func() {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	signal() // the first read
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				signal()
			}
		}
	}()
	if s.backend == Postgres && s.pgConfig != nil {
		go func() {
			for ctx.Err() == nil {
				_ = s.listen(ctx, channels, payload, signal) // the server went away: polling goes on
				select {
				case <-ctx.Done():
				case <-time.After(poll):
				}
			}
		}()
	}
	return ch
}

// listen signals for each notification on channels whose payload is
// payload ("" for any), on a connection of its own, until ctx ends or the connection
// fails; it signals once when listening starts (what changed before).
func (s *Store) listen(ctx context.Context, channels []string, payload string, signal func()) error {
	conn, err := pgx.ConnectConfig(ctx, s.pgConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		closing, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		conn.Close(closing)
	}()
	for _, ch := range channels {
		// Our constants, never input: an identifier cannot be a bound parameter.
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return err
		}
	}
	signal()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		if payload == "" || n.Payload == payload {
			signal()
		}
	}
}
