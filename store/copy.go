package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

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
	// Records are the rows of what the releases carry besides (migration
	// checks, watch verdicts, error signatures, break-glass overrides,
	// config changes) and of the team's freezes and maintenance states.
	Records int
}

// Copy copies src's fleet and history (runs with their hosts and output,
// releases with their migration checks, watch verdicts, break-glass
// overrides and config changes, the error signatures, locks, drained
// backends, freezes, maintenance states, the audit log) into dst, in one
// transaction of dst: all or nothing. A dst that holds a fleet or any
// history is refused with ErrTargetNotEmpty unless merge is set; then
// runs, releases and audit entries already there (the same UUID) are
// kept, not duplicated, so histories of several laptops merge and a
// copy run twice adds nothing; environments, apps and hosts dst lacks are
// added and those it has are kept as they are. Ids are dst's own; the
// links between rows (a release's run, its previous release) follow.
// The env hashes are not copied: each database keys them with its own
// secret; the next deploy records them again. Nor are the running runs'
// batches and presence: they are only true while their process lives.
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
		for _, step := range []func() error{c.copyRuns, c.copyReleases, c.copyLocks, c.copyDrained, c.copyAudit, c.copyRecords} {
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
	for _, fz := range from.Freezes {
		if !slices.Contains(f.Freezes, fz) {
			f.Freezes = append(f.Freezes, fz)
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

// records are the tables copied row by row by copyRecords: the columns
// copied, those that name a row already there (kept as it is), and those
// holding a source release's record id (mapped to the target's).
var records = []struct {
	table, cols, key, releaseIDs string
}{
	{"migration_checks", "app, env, release_id, host, verdict, ops, error, allowed, checked_at", "app, env, release_id", ""},
	{"release_watches", "app, env, release_id, verdict, detail, signature, at", "app, env, release_id", ""},
	{"break_glass", "app, env, release_id, operator, reason, overridden, at", "app, env, release_id, operator, at", ""},
	{"config_releases", "release_record, action, before_env, after_env, changes, rollback_of", "release_record", "release_record, rollback_of"},
	{"freezes", "env, reason, start_at, end_at, every, time_zone, source, created_by, created_at, position", "env, reason, start_at, end_at, created_at", ""},
	{"maintenance", "app, env, is_on, message, retry_after, operator, since, run_id", "app, env", ""},
	{"error_signatures", errSigColumns, "app, env, signature", ""},
}

// copyRecords copies the tables of records. A row whose key is in the
// target already is kept, but an error signature seen earlier in the
// source takes its first sighting there (the earliest wins, as when it was
// recorded). The team's freezes only: the fleet file's came with the
// fleet. A maintenance state's run is not linked to the target's.
func (c *copier) copyRecords() error {
	for _, t := range records {
		cols, key, mapped := columns(t.cols), columns(t.key), columns(t.releaseIDs)
		q := `SELECT ` + t.cols + ` FROM ` + t.table
		if t.table == "freezes" {
			q += ` WHERE source = 'team'`
		}
		rows, err := c.src.db.QueryxContext(c.ctx, q)
		if err != nil {
			return fmt.Errorf("read the source's %s: %w", t.table, err)
		}
		var all []map[string]any
		for rows.Next() {
			row := map[string]any{}
			if err := rows.MapScan(row); err != nil {
				rows.Close()
				return fmt.Errorf("read the source's %s: %w", t.table, err)
			}
			all = append(all, row)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the source's %s: %w", t.table, err)
		}
		for _, row := range all {
			skip := false
			for _, col := range mapped {
				if row[col] == nil {
					continue
				}
				if id, ok := c.releases[asInt64(row[col])]; ok {
					row[col] = id
				} else {
					row[col], skip = nil, skip || col == key[0]
				}
			}
			if skip {
				continue // the release it belongs to was not copied
			}
			if t.table == "maintenance" {
				row["run_id"] = 0
			}
			if err := c.copyRecord(t.table, cols, key, row); err != nil {
				return err
			}
		}
	}
	return nil
}

// copyRecord inserts row into table unless a row with its key is there.
func (c *copier) copyRecord(table string, cols, key []string, row map[string]any) error {
	where, args := make([]string, len(key)), make([]any, len(key))
	for i, k := range key {
		where[i], args[i] = k+" = ?", row[k]
	}
	var n int
	if err := c.dst.get(c.ctx, c.tx, &n, `SELECT COUNT(*) FROM `+table+` WHERE `+strings.Join(where, " AND "), args...); err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	if n > 0 {
		if table != "error_signatures" {
			return nil
		}
		// The source saw it first: its first sighting is the one.
		_, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(`UPDATE error_signatures SET first_seen_at = ?, first_host = ?, first_release_id = ?,
			first_commit = ?, release_from = ?, sample = ? WHERE app = ? AND env = ? AND signature = ? AND first_seen_at > ?`),
			row["first_seen_at"], row["first_host"], row["first_release_id"], row["first_commit"], row["release_from"], row["sample"],
			row["app"], row["env"], row["signature"], row["first_seen_at"])
		if err != nil {
			return fmt.Errorf("copy error signature %v: %w", row["signature"], err)
		}
		return nil
	}
	vals := make([]any, len(cols))
	for i, col := range cols {
		vals[i] = row[col]
	}
	q := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	if _, err := c.tx.ExecContext(c.ctx, c.tx.Rebind(q), vals...); err != nil {
		return fmt.Errorf("copy %s: %w", table, err)
	}
	c.res.Records++
	return nil
}

// columns splits a list of column names.
func columns(list string) []string {
	var out []string
	for _, c := range strings.Split(list, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, c)
		}
	}
	return out
}

// asInt64 is an id as the drivers scan it.
func asInt64(v any) int64 {
	switch n := v.(type) {
	case int64:
		return n
	case int32:
		return int64(n)
	case int:
		return int64(n)
	}
	return 0
}
