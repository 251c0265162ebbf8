package store

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/inventory"
)

// ActionInventory is the audit action of a change to the inventory (an
// import or an edit of hosts, environments or apps); an unlock is
// ActionUnlock; the other actions are runs' kinds (KindDeploy, …).
const (
	ActionInventory = "inventory"
	ActionUnlock    = "unlock"
)

// AuditEntry is one action that changed something, as opsui audit lists it.
type AuditEntry struct {
	At       Millis `db:"at" json:"at"`
	Operator string `db:"operator" json:"operator"`
	Machine  string `db:"machine" json:"machine,omitempty"`
	Action   string `db:"action" json:"action"` // a run's kind, ActionUnlock or ActionInventory
	App      string `db:"app" json:"app,omitempty"`
	Env      string `db:"env" json:"env,omitempty"`
	Result   string `db:"result" json:"result,omitempty"` // a run's result; "" for the rest
	// What says what was done: an exec's or flush's command, an unlock's
	// lock holder, the inventory's changes (names, never values).
	What      string `db:"what" json:"what,omitempty"`
	RunID     int64  `db:"run_id" json:"run_id,omitempty"`
	ReleaseID string `db:"release_id" json:"release_id,omitempty"` // a deploy's or rollback's release
	Commit    string `db:"commit_hash" json:"commit,omitempty"`
}

// SetOperator names who changes the inventory through this store
// (user@machine or $OPSUI_OPERATOR), for the audit log: runs and releases
// carry their own operator.
func (s *Store) SetOperator(op string) { s.operator = op }

// auditOperator is the store's operator, else a name that says it is not known.
func (s *Store) auditOperator() string {
	if s.operator != "" {
		return s.operator
	}
	return "unknown@" + Machine()
}

// NewUUID returns a random (version 4) UUID: the id of a run, release or
// audit entry that stays the same in every database it is copied into.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// recordFleetChange adds to the audit log, in the transaction that saves
// the inventory, what changed from before to after; nothing when nothing
// did. The entry names hosts, apps, environments and fields, never their
// values (an app's env values are no business of the log).
func (s *Store) recordFleetChange(ctx context.Context, tx *sqlx.Tx, before, after *inventory.Fleet) error {
	what := fleetChangeSummary(inventory.Diff(before, after))
	if what == "" {
		return nil
	}
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO audit_log (uuid, at, operator, machine, action, summary) VALUES (?, ?, ?, ?, ?, ?)`),
		NewUUID(), MillisOf(time.Now()), s.auditOperator(), Machine(), ActionInventory, what)
	if err != nil {
		return fmt.Errorf("record the inventory change in the audit log: %w", err)
	}
	return nil
}

// fleetChangeSummary is one line of an inventory change: "+ host web3;
// ~ host web1 (port, address); - host db2; ~ app shop (env)".
func fleetChangeSummary(c inventory.Changes) string {
	var parts []string
	for _, n := range c.Added {
		parts = append(parts, "+ host "+n)
	}
	for _, ch := range c.Changed {
		fields := make([]string, len(ch.Fields))
		for i, f := range ch.Fields {
			fields[i], _, _ = strings.Cut(f, ":")
		}
		parts = append(parts, fmt.Sprintf("~ host %s (%s)", ch.Name, strings.Join(fields, ", ")))
	}
	for _, n := range c.Removed {
		parts = append(parts, "- host "+n)
	}
	for _, o := range c.Other {
		// "~ app shop: repo: a -> b; env: …" keeps its name and field names.
		head, rest, ok := strings.Cut(o, ": ")
		if !ok {
			parts = append(parts, o)
			continue
		}
		var fields []string
		for _, f := range strings.Split(rest, "; ") {
			name, _, _ := strings.Cut(f, ":")
			fields = append(fields, name)
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", head, strings.Join(fields, ", ")))
	}
	return strings.Join(parts, "; ")
}

// AuditFilter narrows Audit.
type AuditFilter struct {
	Since Millis // only actions at or after it; 0: all
	Limit int    // at most this many; 0: all
}

// Audit returns the actions that changed something, newest first: every
// run (deploy, rollback, migrate, flush, exec) with its operator and
// result, every lock broken, every inventory change.
func (s *Store) Audit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	q := `SELECT at, operator, machine, action, app, env, result, what, run_id, release_id, commit_hash FROM (
		SELECT r.started_at AS at, r.operator, r.machine, r.kind AS action, r.app, r.env, r.result, r.command AS what, r.id AS run_id,
			COALESCE((SELECT release_id FROM releases WHERE run_id = r.id ORDER BY id DESC LIMIT 1), '') AS release_id,
			COALESCE((SELECT commit_hash FROM releases WHERE run_id = r.id ORDER BY id DESC LIMIT 1), '') AS commit_hash
		FROM runs r WHERE r.started_at >= ?
		UNION ALL
		SELECT l.broken_at, l.broken_by, '', 'unlock', l.app, l.env, '', 'lock of ' || l.operator, COALESCE(l.run_id, 0), '', ''
		FROM locks l WHERE l.broken_at > 0 AND l.broken_at >= ?
		UNION ALL
		SELECT a.at, a.operator, a.machine, a.action, '', '', '', a.summary, 0, '', ''
		FROM audit_log a WHERE a.at >= ?
	) actions ORDER BY at DESC, run_id DESC`
	args := []any{f.Since, f.Since, f.Since}
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	var out []AuditEntry
	if err := s.sel(ctx, s.db, &out, q, args...); err != nil {
		return nil, fmt.Errorf("read the audit log: %w", err)
	}
	return out, nil
}
