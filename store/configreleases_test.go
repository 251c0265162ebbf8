package store

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestConfigReleaseRecorded: schema 10 takes runs and releases of kind
// config (the widened CHECKs) and keeps a config release's env before and
// after, secret references only, and what it changed.
func TestConfigReleaseRecorded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, _, err := s.StartRun(ctx, NewRun{Kind: KindConfig, App: "shop", Env: "prod", Operator: "ann", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatalf("a run of kind config: %v", err)
	}
	rel := &Release{App: "shop", Env: "prod", ReleaseID: "20261205010000", Kind: KindConfig, Commit: "abc", Operator: "ann"}
	rel.RunID.Int64, rel.RunID.Valid = run.ID, true
	if err := s.CreateRelease(ctx, rel, []string{"web1"}); err != nil {
		t.Fatalf("a release of kind config: %v", err)
	}
	want := ConfigRecord{Release: rel.ID, Action: ConfigSet,
		Before:  map[string]inventory.EnvValue{"A": {Value: "1"}},
		After:   map[string]inventory.EnvValue{"A": {Value: "2"}, "K": {Secret: "api_key"}},
		Changes: []EnvChange{{Key: "A", Change: "changed", Old: "1", New: "2"}, {Key: "K", Change: "added", New: "‹secret api_key›"}}}
	if err := s.SaveConfigRecord(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConfigReleases(ctx, "shop", "prod")
	if err != nil || len(got) != 1 {
		t.Fatalf("config releases: %+v, %v", got, err)
	}
	if !reflect.DeepEqual(got[0].Config, want) || got[0].Kind != KindConfig {
		t.Errorf("got %+v\nwant %+v", got[0].Config, want)
	}
	if _, _, err := s.StartRun(ctx, NewRun{Kind: "configure", Operator: "ann"}); err == nil {
		t.Error("a run of an unknown kind was recorded: the CHECK was dropped, not widened")
	}
}
