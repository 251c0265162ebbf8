package store

import (
	"context"
	"testing"
)

// TestEveryRunKindIsAccepted: each kind opsui records passes the runs
// table's CHECK on both backends (schema 12 widened it for restart,
// maintenance and setup), and a word that is no kind is refused.
func TestEveryRunKindIsAccepted(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, kind := range []string{KindDeploy, KindRollback, KindMigrate, KindFlush, KindExec, KindConfig, KindRestart, KindMaintenance, KindSetup} {
		if _, _, err := s.StartRun(ctx, NewRun{Kind: kind, App: "shop", Env: "prod", Operator: "ann", Hosts: []string{"web1"}}); err != nil {
			t.Errorf("run of kind %s: %v", kind, err)
		}
	}
	if _, _, err := s.StartRun(ctx, NewRun{Kind: "reboot", App: "shop", Env: "prod", Operator: "ann", Hosts: []string{"web1"}}); err == nil {
		t.Error("a run of kind reboot was stored; the CHECK should refuse it")
	}
}
