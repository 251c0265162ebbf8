package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

// TestAuditListsEveryChangeNewestFirst: runs of each kind, a broken lock
// and inventory edits are listed newest first with their operators; an
// edit that changes nothing is not; --since cuts older actions; an
// inventory entry names fields, never their values.
func TestAuditListsEveryChangeNewestFirst(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.SetOperator("carol@desk")
	f := sampleFleet(t)
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveFleet(ctx, f); err != nil { // the same fleet: no entry
		t.Fatal(err)
	}
	_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Hosts[0].Address = "10.9.8.7"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	host := f.Hosts[0].Name

	deployRun, _, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, App: "shop", Env: "production", Operator: "alice@lap", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	rel := Release{App: "shop", Env: "production", ReleaseID: "20261204230000", Commit: "0123456789abcdef0123456789abcdef01234567",
		Operator: "alice@lap", RunID: sql.NullInt64{Int64: deployRun.ID, Valid: true}}
	if err := s.CreateRelease(ctx, &rel, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, deployRun.ID, RunOK, ""); err != nil {
		t.Fatal(err)
	}
	execRun, _, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "bob@box", Command: "uptime", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	lock := LockRecord{App: "shop", Env: "production", Operator: "alice@lap", Token: "tok-1"}
	if err := s.RecordLock(ctx, &lock, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.BreakLock(ctx, "tok-1", "bob@box"); err != nil {
		t.Fatal(err)
	}
	// One action per second, in the order made, so the order is known.
	base := time.Now().Add(-time.Hour)
	at := func(i int) Millis { return MillisOf(base.Add(time.Duration(i) * time.Second)) }
	s.db.MustExec(s.db.Rebind(`UPDATE audit_log SET at = ? WHERE summary LIKE '+ host%'`), at(0))
	s.db.MustExec(s.db.Rebind(`UPDATE audit_log SET at = ? WHERE summary LIKE '~ host%'`), at(1))
	s.db.MustExec(s.db.Rebind(`UPDATE runs SET started_at = ? WHERE id = ?`), at(2), deployRun.ID)
	s.db.MustExec(s.db.Rebind(`UPDATE runs SET started_at = ? WHERE id = ?`), at(3), execRun.ID)
	s.db.MustExec(s.db.Rebind(`UPDATE locks SET broken_at = ? WHERE token = 'tok-1'`), at(4))

	got, err := s.Audit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, e := range got {
		lines = append(lines, fmt.Sprintf("%s %s %s/%s %s %s %s", e.Operator, e.Action, e.App, e.Env, e.Result, e.ReleaseID, e.What))
	}
	want := []string{
		"bob@box unlock shop/production   lock of alice@lap",
		"bob@box exec / running  uptime",
		"alice@lap deploy shop/production ok 20261204230000 ",
		"carol@desk inventory /   ~ host " + host + " (address)",
	}
	if len(lines) != 5 || strings.Join(lines[:4], "\n") != strings.Join(want, "\n") || !strings.HasPrefix(lines[4], "carol@desk inventory /   + host ") {
		t.Fatalf("audit:\n%s\nwant:\n%s\n(then the import)", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got[2].Commit != rel.Commit || got[2].RunID != deployRun.ID {
		t.Errorf("the deploy's entry: commit %q run %d, want %q run %d", got[2].Commit, got[2].RunID, rel.Commit, deployRun.ID)
	}
	for _, e := range got {
		if strings.Contains(e.What, "10.9.8.7") {
			t.Errorf("an audit entry holds a value: %q", e.What)
		}
	}
	if got[3].Machine != Machine() {
		t.Errorf("the inventory entry's machine = %q, want %q", got[3].Machine, Machine())
	}

	recent, err := s.Audit(ctx, AuditFilter{Since: at(2)})
	if err != nil || len(recent) != 3 {
		t.Fatalf("since the deploy: %d entries (%v), want 3", len(recent), err)
	}
	if one, err := s.Audit(ctx, AuditFilter{Limit: 1}); err != nil || len(one) != 1 || one[0].Action != ActionUnlock {
		t.Fatalf("limit 1: %+v, %v", one, err)
	}
}

var uuidForm = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestRunsAndReleasesHaveUUIDs: each run and release gets its own
// stable id, and so do those recorded before schema 8 (SQLite: a
// database migrated from version 7 with rows in it).
func TestRunsAndReleasesHaveUUIDs(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	a, _, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Command: "true"})
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Command: "true"})
	stored, err := s.Run(ctx, a.ID)
	if err != nil || stored.UUID != a.UUID || !uuidForm.MatchString(a.UUID) || a.UUID == b.UUID {
		t.Fatalf("run uuids %q (stored %q, %v) and %q", a.UUID, stored.UUID, err, b.UUID)
	}
	r := Release{App: "shop", Env: "production", ReleaseID: "1", Commit: "abc", Operator: "a"}
	if err := s.CreateRelease(ctx, &r, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LatestRelease(ctx, "shop", "production", false); err != nil || got.UUID != r.UUID || !uuidForm.MatchString(r.UUID) {
		t.Fatalf("release uuid %q, stored %q (%v)", r.UUID, got.UUID, err)
	}
}

func TestMigrationGivesOldRowsUUIDs(t *testing.T) {
	sqliteOnly(t, "builds a version-7 file step by step")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	// Back to version 7: drop what 11, 10, 9 and 8 added, then add rows as 7 would.
	for _, q := range []string{`DROP TABLE runbooks`, `DROP TABLE config_releases`, `DROP TABLE migration_checks`, `DROP TABLE freezes`, `DROP TABLE break_glass`, `DROP TABLE audit_log`, `DROP INDEX runs_uuid`, `DROP INDEX releases_uuid`, `DROP INDEX runs_running`,
		`DROP INDEX releases_run`, `ALTER TABLE runs DROP COLUMN uuid`, `ALTER TABLE releases DROP COLUMN uuid`, `PRAGMA user_version = 7`,
		`INSERT INTO runs (kind, operator, started_at) VALUES ('exec', 'old', 1), ('exec', 'old', 2)`,
		`INSERT INTO releases (app, env, release_id, commit_hash, operator, started_at) VALUES ('shop', 'prod', '1', 'abc', 'old', 1)`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []string
	if err := s.db.Select(&ids, `SELECT uuid FROM runs UNION ALL SELECT uuid FROM releases`); err != nil {
		t.Fatal(err)
	}
	if len(ids) != 3 || ids[0] == ids[1] {
		t.Fatalf("uuids after the migration: %q", ids)
	}
	for _, id := range ids {
		if !uuidForm.MatchString(id) {
			t.Errorf("uuid %q is not a version-4 UUID", id)
		}
	}
}
