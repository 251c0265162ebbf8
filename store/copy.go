package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

// ErrTargetNotEmpty refuses a copy into a database that holds a fleet or
// history already, unless the copy merges.
var ErrTargetNotEmpty = errors.New("the target database is not empty")

// CopyResult counts what Copy wrote and what it found there already.
type CopyResult struct {
	Runs, RunsKept         int // copied; already in the target (same UUID)
	Releases, ReleasesKept int
	Chunks                 int64 // output chunks copied
	Locks, Drained, Audit  int
	// HostsAdded are the source's hosts the target's fleet lacked.
	HostsAdded int
}

// Copy copies src's fleet and history (runs with their hosts and output,
// releases, locks, drained backends, the audit log) into dst, in one
// transaction of dst: all or nothing. A dst that holds a fleet or any
// history is refused with ErrTargetNotEmpty unless merge is set; then
// runs, releases and audit entries already there (the same UUID) are
// kept, not duplicated, so histories of several laptops merge and a
// copy run twice adds nothing; environments, apps and hosts dst lacks are
// added and those it has are kept as they are. Ids are dst's own; the
// links between rows (a release's run, its previous release) follow.
// The env hashes are not copied: each database keys them with its own
// secret; the next deploy records them again.
func Copy(ctx context.Context, src, dst *Store, merge bool) (CopyResult, error) {
	var res CopyResult
	srcFleet, err := src.LoadFleet(ctx)
	if err != nil {
		return res, fmt.Errorf("read the source's fleet: %w", err)
	}
	err = dst.Transaction(ctx, func(tx *sqlx.Tx) error {
		res = CopyResult{}
		if err := dst.fleetLock(ctx, tx); err != nil {
			return err
		}
		if !merge {
			if err := dst.refuseNonEmpty(ctx, tx); err != nil {
				return err
			}
		}
		if err := dst.mergeFleet(ctx, tx, srcFleet, &res); err != nil {
			return err
		}
		c := copier{ctx: ctx, src: src, dst: dst, tx: tx, res: &res, runs: map[int64]int64{}, releases: map[int64]int64{}}
		for _, step := range []func() error{c.copyRuns, c.copyReleases, c.copyLocks, c.copyDrained, c.copyAudit} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

func (s *Store) refuseNonEmpty(ctx context.Context, tx *sqlx.Tx) error {
	var n int
	if err := s.get(ctx, tx, &n, `SELECT (SELECT COUNT(*) FROM hosts) + (SELECT COUNT(*) FROM apps) + (SELECT COUNT(*) FROM environments) +
		(SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM releases) + (SELECT COUNT(*) FROM audit_log)`); err != nil {
		return fmt.Errorf("is the target empty: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("%w (%d rows of fleet and history): give --merge to merge into it", ErrTargetNotEmpty, n)
	}
	return nil
}

// mergeFleet adds to the target's fleet what the source's has and it
// lacks; it keeps what it has.
func (s *Store) mergeFleet(ctx context.Context, tx *sqlx.Tx, from *inventory.Fleet, res *CopyResult) error {
	f, err := s.loadFleet(ctx, tx)
	if err != nil {
		return err
	}
	before := f.Clone()
	for _, e := range from.Environments {
		if _, ok := f.Environment(e.Name); !ok {
			f.Environments = append(f.Environments, e)
		}
	}
	for _, a := range from.Apps {
		if _, ok := f.App(a.Name); !ok {
			f.Apps = append(f.Apps, a)
		}
	}
	for _, h := range from.Hosts {
		if _, ok := f.Host(h.Name); !ok {
			f.Hosts = append(f.Hosts, h)
			res.HostsAdded++
		}
	}
	for role, rs := range from.Roles {
		if _, ok := f.Roles[role]; !ok {
			if f.Roles == nil {
				f.Roles = map[string]inventory.RoleSettings{}
			}
			f.Roles[role] = rs
		}
	}
	mergeRunbooks(f, from)
	if err := inventory.Validate(f); err != nil {
		return fmt.Errorf("the merged fleet: %w", err)
	}
	if err := saveFleet(ctx, tx, f); err != nil {
		return err
	}
	return s.recordFleetChange(ctx, tx, before, f)
}

// copier copies the history, mapping the source's ids to the target's.
type copier struct {
	ctx      context.Context
	src, dst *Store
	tx       *sqlx.Tx
	res      *CopyResult
	runs     map[int64]int64 // source run id -> target's
	releases map[int64]int64
}

// insertID runs an INSERT … RETURNING id in the target's transaction.
func (c *copier) insertID(query string, args ...any) (int64, error) {
	var id int64
	err := c.tx.GetContext(c.ctx, &id, c.tx.Rebind(query+` RETURNING id`), args...)
	return id, err
}

// existing returns the target's id of the row of table with this uuid, 0 for none.
func (c *copier) existing(table, uuid string) (int64, error) {
	var id int64
	err := c.dst.get(c.ctx, c.tx, &id, `SELECT id FROM `+table+` WHERE uuid = ?`, uuid)
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	return id, err
}

func (c *copier) copyRuns() error {
	var runs []Run
	if err := c.src.sel(c.ctx, c.src.db, &runs, `SELECT * FROM runs ORDER BY id`); err != nil {
		return fmt.Errorf("read the source's runs: %w", err)
	}
	for _, r := range runs {
		id, err := c.existing("runs", r.UUID)
		if err != nil {
			return err
		}
		if id != 0 {
			c.runs[r.ID], c.res.RunsKept = id, c.res.RunsKept+1
			continue
		}
		id, err = c.insertID(`INSERT INTO runs (kind, app, env, operator, command, args, started_at, finished_at, result, summary,
			output_pruned, pid, machine, uuid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Kind, r.App, r.Env, r.Operator, r.Command, r.Args, r.StartedAt, r.FinishedAt, r.Result, r.Summary,
			b2i(r.OutputPruned), r.PID, r.Machine, r.UUID)
		if err != nil {
			return fmt.Errorf("copy run %d: %w", r.ID, err)
		}
		c.runs[r.ID] = id
		c.res.Runs++
		if err := c.copyRunHosts(r.ID, id); err != nil {
			return err
		}
	}
	return nil
}

func (c *copier) copyRunHosts(srcRun, dstRun int64) error {
	hosts, err := c.src.RunHosts(c.ctx, srcRun)
	if err != nil {
		return err
	}
	for _, h := range hosts {
		id, err := c.insertID(`INSERT INTO run_hosts (run_id, host, status, stage, exit_code, started_at, finished_at, duration_ms,
			error_class, error, output_bytes, recorded_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			dstRun, h.Host, h.Status, h.Stage, h.ExitCode, h.StartedAt, h.FinishedAt, h.DurationMS, h.ErrorClass, h.Error,
			h.OutputBytes, h.RecordedBytes)
		if err != nil {
			return fmt.Errorf("copy host %s of run %d: %w", h.Host, srcRun, err)
		}
		err = c.src.StreamOutput(c.ctx, h.ID, func(ch Chunk) error {
			_, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(`INSERT INTO run_output (run_host_id, seq, stream, at, data) VALUES (?, ?, ?, ?, ?)`),
				id, ch.Seq, ch.Stream, ch.At, ch.Data)
			c.res.Chunks++
			return err
		})
		if err != nil {
			return fmt.Errorf("copy the output of %s in run %d: %w", h.Host, srcRun, err)
		}
	}
	return nil
}

// mapID is the target's id of a source row linked by id, NULL when
// there is none.
func mapID(ids map[int64]int64, v sql.NullInt64) any {
	if to, ok := ids[v.Int64]; ok && v.Valid {
		return to
	}
	return nil
}

func (c *copier) copyReleases() error {
	var rs []Release
	if err := c.src.sel(c.ctx, c.src.db, &rs, `SELECT * FROM releases ORDER BY id`); err != nil {
		return fmt.Errorf("read the source's releases: %w", err)
	}
	for _, r := range rs {
		id, err := c.existing("releases", r.UUID)
		if err != nil {
			return err
		}
		if id != 0 {
			c.releases[r.ID], c.res.ReleasesKept = id, c.res.ReleasesKept+1
			continue
		}
		// Links point back in time: a release's previous one and target
		// have smaller ids, so they are mapped already.
		id, err = c.insertID(`INSERT INTO releases (app, env, release_id, kind, commit_hash, branch, subject, operator, strategy,
			started_at, finished_at, result, previous_id, rollback_target_id, migrations_applied, run_id, hosts, uuid)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.App, r.Env, r.ReleaseID, r.Kind, r.Commit, r.Branch, r.Subject, r.Operator, r.Strategy,
			r.StartedAt, r.FinishedAt, r.Result,
			mapID(c.releases, r.PreviousID),
			mapID(c.releases, r.RollbackTargetID),
			b2i(r.MigrationsApplied), mapID(c.runs, r.RunID), r.Hosts, r.UUID)
		if err != nil {
			return fmt.Errorf("copy release %s of %s to %s: %w", r.ReleaseID, r.App, r.Env, err)
		}
		c.releases[r.ID] = id
		c.res.Releases++
	}
	return nil
}

func (c *copier) copyLocks() error {
	var ls []LockRecord
	if err := c.src.sel(c.ctx, c.src.db, &ls, `SELECT * FROM locks ORDER BY id`); err != nil {
		return fmt.Errorf("read the source's locks: %w", err)
	}
	for _, l := range ls {
		res, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(`INSERT INTO locks (app, env, run_id, operator, machine, pid, token, hosts,
			acquired_at, heartbeat_at, released_at, broken_by, broken_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (token) DO NOTHING`),
			l.App, l.Env, mapID(c.runs, l.RunID), l.Operator, l.Machine, l.PID, l.Token, l.Hosts,
			l.AcquiredAt, l.HeartbeatAt, l.ReleasedAt, l.BrokenBy, l.BrokenAt)
		if err != nil {
			return fmt.Errorf("copy the lock of %s/%s: %w", l.App, l.Env, err)
		}
		n, _ := res.RowsAffected()
		c.res.Locks += int(n)
	}
	return nil
}

func (c *copier) copyDrained() error {
	var ds []Drained
	if err := c.src.sel(c.ctx, c.src.db, &ds, `SELECT * FROM lb_drained ORDER BY id`); err != nil {
		return fmt.Errorf("read the source's drained backends: %w", err)
	}
	for _, d := range ds {
		// No UUID here: the same backend drained at the same instant is the same record.
		res, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(`INSERT INTO lb_drained (app, env, balancer, backend, addr, run_id, operator,
			drained_at, restored_at, restored_by)
			SELECT CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT), CAST(? AS TEXT),
				CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT)
			WHERE NOT EXISTS (SELECT 1 FROM lb_drained WHERE app = ? AND env = ? AND balancer = ? AND backend = ? AND drained_at = ?)`),
			d.App, d.Env, d.Balancer, d.Backend, d.Addr, mapID(c.runs, d.RunID), d.Operator,
			d.DrainedAt, d.RestoredAt, d.RestoredBy, d.App, d.Env, d.Balancer, d.Backend, d.DrainedAt)
		if err != nil {
			return fmt.Errorf("copy %s drained from %s: %w", d.Backend, d.Balancer, err)
		}
		n, _ := res.RowsAffected()
		c.res.Drained += int(n)
	}
	return nil
}

func (c *copier) copyAudit() error {
	var rows []struct {
		UUID     string `db:"uuid"`
		At       Millis `db:"at"`
		Operator string `db:"operator"`
		Machine  string `db:"machine"`
		Action   string `db:"action"`
		Summary  string `db:"summary"`
	}
	if err := c.src.sel(c.ctx, c.src.db, &rows, `SELECT uuid, at, operator, machine, action, summary FROM audit_log ORDER BY id`); err != nil {
		return fmt.Errorf("read the source's audit log: %w", err)
	}
	for _, a := range rows {
		res, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(`INSERT INTO audit_log (uuid, at, operator, machine, action, summary)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (uuid) DO NOTHING`), a.UUID, a.At, a.Operator, a.Machine, a.Action, a.Summary)
		if err != nil {
			return fmt.Errorf("copy the audit log: %w", err)
		}
		n, _ := res.RowsAffected()
		c.res.Audit += int(n)
	}
	return nil
}
