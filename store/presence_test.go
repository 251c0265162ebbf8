package store

import (
	"context"
	"database/sql"
	"testing"
)

// TestSetbacks: a deploy of the commit that switched back (with the host
// and step that failed), one that failed, and an operator's rollback away
// from a release of it are each a setback of the commit, newest first;
// another commit's and another environment's are not.
func TestSetbacks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	const c1, c2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	release := func(kind, env, id, commit, op string, result ReleaseResult, at Millis) Release {
		t.Helper()
		run, hosts, err := s.StartRun(ctx, NewRun{Kind: kind, App: "shop", Env: env, Operator: op, Hosts: []string{"web1", "web2"}})
		if err != nil {
			t.Fatal(err)
		}
		r := Release{App: "shop", Env: env, ReleaseID: id, Kind: kind, Commit: commit, Operator: op, RunID: sql.NullInt64{Int64: run.ID, Valid: true}}
		if err := s.CreateRelease(ctx, &r, []string{"web1", "web2"}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRelease(ctx, r.ID, result, false); err != nil {
			t.Fatal(err)
		}
		if result == ReleaseRolledBack {
			hosts[1].Status, hosts[1].Stage = HostFailed, "health"
			if err := s.UpdateRunHost(ctx, hosts[1]); err != nil {
				t.Fatal(err)
			}
		}
		s.db.MustExec(s.db.Rebind(`UPDATE releases SET started_at = ? WHERE id = ?`), at, r.ID)
		return r
	}
	release(KindDeploy, "production", "1", c1, "alice", ReleaseSuccess, 1000)
	release(KindDeploy, "production", "2", c2, "alice", ReleaseRolledBack, 2000)
	release(KindDeploy, "production", "3", c2, "alice", ReleaseSuccess, 3000)
	release(KindRollback, "production", "1", c1, "bob", ReleaseSuccess, 4000) // away from release 3 (c2)
	release(KindDeploy, "production", "5", c2, "carol", ReleaseFailed, 5000)
	release(KindDeploy, "staging", "6", c2, "dave", ReleaseRolledBack, 6000)

	got, err := s.Setbacks(ctx, "shop", "production", c2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("setbacks of c2: %+v", got)
	}
	if g := got[0]; g.Operator != "carol" || g.Manual || g.Result != ReleaseFailed || g.ReleaseID != "5" {
		t.Errorf("newest: %+v", g)
	}
	if g := got[1]; g.Operator != "bob" || !g.Manual || g.ReleaseID != "3" || g.At != 4000 {
		t.Errorf("the rollback: %+v", g)
	}
	if g := got[2]; g.Operator != "alice" || g.Manual || g.Result != ReleaseRolledBack || g.Reason != "web2 failed at health" {
		t.Errorf("the deploy that switched back: %+v", g)
	}
	if got, err := s.Setbacks(ctx, "shop", "production", c1); err != nil || len(got) != 0 {
		t.Errorf("setbacks of c1 (never rolled back): %+v, %v", got, err)
	}

	live, err := s.LiveRuns(ctx, "shop", "production")
	if err != nil || len(live) != 5 || live[0].Hosts != 2 || live[0].Done != 0 {
		t.Fatalf("live runs: %+v, %v", live, err)
	}
	if err := s.FinishRun(ctx, live[0].ID, RunOK, ""); err != nil {
		t.Fatal(err)
	}
	if again, _ := s.LiveRuns(ctx, "", ""); len(again) != 5 { // 6 runs, one finished
		t.Errorf("after one finished: %d live runs, want 5", len(again))
	}
	recent, err := s.ReleasesSince(ctx, "shop", "production", 3000)
	if err != nil || len(recent) != 3 || recent[0].ReleaseID != "5" {
		t.Errorf("releases since 3000: %+v, %v", recent, err)
	}
}
