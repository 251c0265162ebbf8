package deploy

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestConfigRollbackTarget replays recorded config releases: rollback
// --config undoes the newest change still in effect. A failed one (its
// fleet edit put back) and an apply (no key changed) are skipped, one
// whose opsui died (its edit kept) counts, and one a rollback undid is
// not undone again.
func TestConfigRollbackTarget(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	flavor := func(v string) map[string]inventory.EnvValue {
		return map[string]inventory.EnvValue{"FLAVOR": {Value: v}}
	}
	add := func(action store.ConfigAction, result store.ReleaseResult, before, after string, of int64) int64 {
		t.Helper()
		rel := &store.Release{App: "app", Env: "test", ReleaseID: "20261205010000", Kind: store.KindConfig, Commit: "abc", Operator: "ann"}
		if err := st.CreateRelease(ctx, rel, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishRelease(ctx, rel.ID, result, false); err != nil {
			t.Fatal(err)
		}
		c := store.ConfigRecord{Release: rel.ID, Action: action, Before: flavor(before), After: flavor(after)}
		c.RollbackOf.Int64, c.RollbackOf.Valid = of, of != 0
		if err := st.SaveConfigRecord(ctx, c); err != nil {
			t.Fatal(err)
		}
		return rel.ID
	}
	target := func() (int64, string) {
		t.Helper()
		c, err := ConfigRollbackTarget(ctx, st, "app", "test")
		if errors.Is(err, errNoConfigRelease) {
			return 0, ""
		} else if err != nil {
			t.Fatal(err)
		}
		return c.ID, c.Config.Before["FLAVOR"].Value
	}
	if id, _ := target(); id != 0 {
		t.Fatalf("no config release recorded, yet a target: %d", id)
	}
	one := add(store.ConfigSet, store.ReleaseSuccess, "a", "b", 0)
	add(store.ConfigSet, store.ReleaseRolledBack, "b", "bad", 0)
	add(store.ConfigApply, store.ReleaseSuccess, "b", "b", 0)
	if id, before := target(); id != one || before != "a" {
		t.Errorf("after a set, a failed set and an apply: target %d (back to %q), want %d (back to a)", id, before, one)
	}
	died := add(store.ConfigSet, store.ReleaseInterrupted, "b", "c", 0)
	if id, before := target(); id != died || before != "b" {
		t.Errorf("after a set whose opsui died: target %d (back to %q), want %d (back to b)", id, before, died)
	}
	add(store.ConfigRollback, store.ReleaseSuccess, "c", "b", died)
	if id, before := target(); id != one || before != "a" {
		t.Errorf("after rolling back the interrupted set: target %d (back to %q), want %d (back to a)", id, before, one)
	}
	add(store.ConfigRollback, store.ReleaseSuccess, "b", "a", one)
	if id, _ := target(); id != 0 {
		t.Errorf("every change rolled back, yet a target: %d", id)
	}
}
