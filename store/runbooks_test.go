package store

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestRunbooksAreSavedWithTheFleet: the fleet file's runbooks come back
// as they were saved, roles and all; an import without them removes them;
// the audit log says what changed; their row is never taken for a role.
func TestRunbooksAreSavedWithTheFleet(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	f := sampleFleet(t)
	f.Runbooks = []inventory.Runbook{
		{Name: "restart-web", Description: "reload gunicorn", Run: "sudo -n systemctl reload gunicorn", Roles: []string{"web"},
			Envs: []string{"production"}, Confirm: true, Timeout: inventory.Duration(30e9), Key: "W"},
		{Name: "disk", Run: "df -h /srv"},
	}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Runbooks, f.Runbooks) {
		t.Fatalf("runbooks loaded = %+v\nwant %+v", got.Runbooks, f.Runbooks)
	}
	if !reflect.DeepEqual(got, f) {
		t.Fatalf("the fleet with runbooks did not come back as it was saved")
	}

	// Changed by UpdateFleet (as every single-host edit is), they stay.
	if _, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error { f.Hosts[0].Port = 2222; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LoadFleet(ctx); len(got.Runbooks) != 2 {
		t.Fatalf("runbooks after an unrelated edit: %+v", got.Runbooks)
	}

	f.Runbooks = f.Runbooks[1:]
	f.Runbooks[0].Run = "df -h /"
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LoadFleet(ctx); !reflect.DeepEqual(got.Runbooks, f.Runbooks) {
		t.Fatalf("runbooks after re-import = %+v", got.Runbooks)
	}
	entries, err := s.Audit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, e := range entries {
		all = append(all, e.What)
	}
	if text := strings.Join(all, "\n"); !strings.Contains(text, "- runbook restart-web") || !strings.Contains(text, "~ runbook disk (run)") {
		t.Errorf("the audit log does not say the runbooks changed:\n%s", text)
	}

	f.Runbooks = nil
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LoadFleet(ctx); got.Runbooks != nil {
		t.Fatalf("runbooks after an import without any = %+v", got.Runbooks)
	}
}

// TestCopyMergesRunbooks: a copy brings the runbooks the target lacks and
// keeps the target's own of the same name.
func TestCopyMergesRunbooks(t *testing.T) {
	ctx := context.Background()
	src, dst := laptop(t, "alice", 0, "a1"), laptop(t, "bob", 0, "b1")
	for s, rbs := range map[*Store][]inventory.Runbook{
		src: {{Name: "disk", Run: "df -h"}, {Name: "uptime", Run: "uptime"}},
		dst: {{Name: "disk", Run: "df -h /srv"}},
	} {
		if _, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error { f.Runbooks = rbs; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Copy(ctx, src, dst, true); err != nil {
		t.Fatal(err)
	}
	f, err := dst.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Runbook{{Name: "disk", Run: "df -h /srv"}, {Name: "uptime", Run: "uptime"}}
	if !reflect.DeepEqual(f.Runbooks, want) {
		t.Errorf("runbooks after the merge = %+v, want %+v", f.Runbooks, want)
	}
}

// TestRunbooksRowMovesToItsTable: a database of the build that kept the
// runbooks as one role_defaults row ('#runbooks') opens with them in their
// own table, in order, and no such role left; on both backends.
func TestRunbooksRowMovesToItsTable(t *testing.T) {
	ctx := context.Background()
	target := testTarget(t)
	s, err := Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	list := `[{"name":"restart-web","description":"reload","run":"sudo -n systemctl reload gunicorn","roles":["web"],"confirm":true,"timeout":"30s","key":"W"},{"name":"disk","run":"df -h /srv"}]`
	rewind := []string{`DROP TABLE runbooks`, `INSERT INTO role_defaults (role, settings) VALUES ('#runbooks', '` + list + `')`}
	if s.backend == Postgres {
		rewind = append(rewind, `UPDATE opsui_schema SET version = 10`)
	} else {
		rewind = append(rewind, `PRAGMA user_version = 10`)
	}
	for _, q := range rewind {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()
	s, err = Open(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []inventory.Runbook{
		{Name: "restart-web", Description: "reload", Run: "sudo -n systemctl reload gunicorn", Roles: []string{"web"}, Confirm: true,
			Timeout: inventory.Duration(30e9), Key: "W"},
		{Name: "disk", Run: "df -h /srv"},
	}
	if !reflect.DeepEqual(f.Runbooks, want) {
		t.Errorf("runbooks after the migration = %+v\nwant %+v", f.Runbooks, want)
	}
	if _, ok := f.Roles["#runbooks"]; ok {
		t.Errorf("the old row is still a role: %v", f.Roles)
	}
}
