package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// laptop is one operator's SQLite store with a fleet, n deploys of shop
// (each a run with output on two hosts and a release whose previous one
// is the one before), a broken lock and an inventory edit.
func laptop(t *testing.T, op string, n int, extraHost string) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), op+".db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetOperator(op)
	if err := s.SaveFleet(ctx, sampleFleet(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Hosts = append(f.Hosts, inventory.Host{Name: extraHost, Address: "127.0.0.9", Env: "staging"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		run, hosts, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, App: "shop", Env: "production", Operator: op, Hosts: []string{"web1", "web2"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hosts {
			if err := s.AppendOutput(ctx, h.ID, []Chunk{{Seq: 1, Stream: "stdout", At: 1, Data: []byte(fmt.Sprintf("%s %s %d\n", op, h.Host, i))},
				{Seq: 2, Stream: "stderr", At: 2, Data: []byte("warn\n")}}); err != nil {
				t.Fatal(err)
			}
		}
		r := Release{App: "shop", Env: "production", ReleaseID: fmt.Sprintf("%s-%d", op, i), Commit: "abc", Operator: op,
			RunID: sql.NullInt64{Int64: run.ID, Valid: true}}
		if err := s.CreateRelease(ctx, &r, []string{"web1", "web2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRelease(ctx, r.ID, ReleaseSuccess, false); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, run.ID, RunOK, "2 ok"); err != nil {
			t.Fatal(err)
		}
	}
	lock := LockRecord{App: "shop", Env: "production", Operator: op, Token: op + "-token"}
	if err := s.RecordLock(ctx, &lock, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.BreakLock(ctx, lock.Token, op); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCopyMergesLaptops: alice's history copies into an empty database
// whole; bob's is refused there without merge, then merged; copying
// alice's again adds nothing. Counts are exact, output and the links
// between releases and runs follow, and the audit log holds both. The
// target is SQLite, and PostgreSQL on the suite's PostgreSQL pass.
func TestCopyMergesLaptops(t *testing.T) {
	ctx := context.Background()
	alice, bob := laptop(t, "alice@lap", 3, "alice-box"), laptop(t, "bob@box", 2, "bob-box")
	team := openTemp(t)
	team.SetOperator("carol@desk")

	res, err := Copy(ctx, alice, team, false)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 3 || res.Releases != 3 || res.Chunks != 12 || res.Locks != 1 || res.RunsKept != 0 || res.HostsAdded != 11 {
		t.Errorf("alice's copy: %+v", res)
	}
	if _, err := Copy(ctx, bob, team, false); !errors.Is(err, ErrTargetNotEmpty) {
		t.Fatalf("bob's copy without merge: %v, want ErrTargetNotEmpty", err)
	}
	res, err = Copy(ctx, bob, team, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 2 || res.Releases != 2 || res.Chunks != 8 || res.HostsAdded != 1 || res.Locks != 1 {
		t.Errorf("bob's merge: %+v", res)
	}
	res, err = Copy(ctx, alice, team, true)
	if err != nil {
		t.Fatal(err)
	}
	if res.Runs != 0 || res.Releases != 0 || res.Chunks != 0 || res.Locks != 0 || res.Audit != 0 || res.RunsKept != 3 || res.ReleasesKept != 3 {
		t.Errorf("alice's copy again: %+v, want nothing new", res)
	}

	var runs, releases, chunks, locks int
	for q, n := range map[string]*int{`SELECT COUNT(*) FROM runs`: &runs, `SELECT COUNT(*) FROM releases`: &releases,
		`SELECT COUNT(*) FROM run_output`: &chunks, `SELECT COUNT(*) FROM locks`: &locks} {
		if err := team.db.Get(n, q); err != nil {
			t.Fatal(err)
		}
	}
	if runs != 5 || releases != 5 || chunks != 20 || locks != 2 {
		t.Errorf("the team's database: %d runs, %d releases, %d chunks, %d locks; want 5, 5, 20, 2", runs, releases, chunks, locks)
	}
	// Each release names its own run, whose output is the laptop's; its
	// previous release is the laptop's previous one.
	rels, err := team.ListReleases(ctx, "shop", "production", 0)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]Release{}
	for _, r := range rels {
		byID[r.ID] = r
	}
	for _, r := range rels {
		run, err := team.Run(ctx, r.RunID.Int64)
		if err != nil || run.Operator != r.Operator {
			t.Fatalf("release %s: run %d %+v, %v", r.ReleaseID, r.RunID.Int64, run, err)
		}
		hosts, _ := team.RunHosts(ctx, run.ID)
		out, _ := team.Output(ctx, hosts[0].ID)
		var i int
		fmt.Sscanf(r.ReleaseID[len(r.ReleaseID)-1:], "%d", &i)
		if want := fmt.Sprintf("%s %s %d\n", r.Operator, hosts[0].Host, i); len(out) != 2 || string(out[0].Data) != want {
			t.Errorf("release %s: output %+v, want %q first", r.ReleaseID, out, want)
		}
		if prev, ok := byID[r.PreviousID.Int64]; i > 0 && (!ok || prev.ReleaseID != fmt.Sprintf("%s-%d", r.Operator, i-1)) {
			t.Errorf("release %s: previous %q, want %s-%d", r.ReleaseID, prev.ReleaseID, r.Operator, i-1)
		}
	}
	audit, err := team.Audit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]int{}
	for _, e := range audit {
		ops[e.Operator+" "+e.Action]++
	}
	if ops["alice@lap deploy"] != 3 || ops["bob@box deploy"] != 2 || ops["alice@lap unlock"] != 1 || ops["bob@box inventory"] != 2 ||
		ops["carol@desk inventory"] != 2 {
		t.Errorf("the merged audit log: %v", ops)
	}
}
