package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNewRunStatesAreStored writes every run result and the rolled_back
// host status through a fresh and a reopened database: the schema's checks
// accept each word states.go defines, and still refuse others.
func TestNewRunStatesAreStored(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsui.db")
	for round := range 2 {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range runResults {
			r, hosts, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "t", Hosts: []string{"h1"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FinishRun(ctx, r.ID, string(res), ""); err != nil {
				t.Errorf("round %d: result %s: %v", round, res, err)
			}
			hosts[0].Status = HostRolledBack
			if err := s.UpdateRunHost(ctx, hosts[0]); err != nil {
				t.Errorf("round %d: host status %s: %v", round, HostRolledBack, err)
			}
			got, err := s.Run(ctx, r.ID)
			if err != nil || got.Result != string(res) {
				t.Errorf("round %d: stored %q (%v), want %q", round, got.Result, err, res)
			}
		}
		r, _, _ := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "t"})
		if err := s.FinishRun(ctx, r.ID, "sort-of-ok", ""); err == nil || !strings.Contains(err.Error(), "CHECK") {
			t.Errorf("an unknown result was stored: %v", err)
		}
		s.Close()
	}
}

func TestParseStates(t *testing.T) {
	for _, r := range releaseResults {
		if got, err := ParseReleaseResult(r.String()); err != nil || got != r {
			t.Errorf("release result %s: %v %v", r, got, err)
		}
	}
	for _, r := range runResults {
		if got, err := ParseRunResult(r.String()); err != nil || got != r {
			t.Errorf("run result %s: %v %v", r, got, err)
		}
	}
	if _, err := ParseReleaseResult("rolled-back"); err == nil {
		t.Error("rolled-back parsed: the one spelling is rolled_back")
	}
	if RunOfRelease(ReleaseRolledBack) != RunRolledBack || RunOfRelease(ReleaseSuccess) != RunOK || RunOfRelease(ReleaseAborted) != RunAborted {
		t.Error("a release's run does not end with its word")
	}
}

// TestReapStaleReleases: ReapStaleRuns marks the release of a run whose
// process died interrupted too (the console reaps with it alone), not
// running; a live run's release is left alone.
func TestReapStaleReleases(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var rels []*Release
	for i, pid := range []int{1 << 30, os.Getpid()} { // a pid that cannot exist, and ours
		r, _, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE runs SET pid = ? WHERE id = ?`, pid, r.ID); err != nil {
			t.Fatal(err)
		}
		rel := &Release{App: "a", Env: "e", ReleaseID: fmt.Sprint(i), Commit: "c", Operator: "t"}
		rel.RunID.Int64, rel.RunID.Valid = r.ID, true
		if err := s.CreateRelease(ctx, rel, nil); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, rel)
	}
	if n, err := s.ReapStaleRuns(ctx); err != nil || n != 1 {
		t.Fatalf("reaped %d runs, %v; want 1", n, err)
	}
	for i, want := range []string{ReleaseInterrupted, ReleaseRunning} {
		got, err := s.ReleaseNamed(ctx, "a", "e", rels[i].ReleaseID)
		if err != nil || got.Result != want {
			t.Errorf("release %d: %q (%v), want %q", i, got.Result, err, want)
		}
	}
}

// TestHighestReleaseID: a rollback's record is the newest but names an
// older release; the highest id is the latest one chosen.
func TestHighestReleaseID(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if id, err := s.HighestReleaseID(ctx, "a", "e"); err != nil || id != "" {
		t.Fatalf("no releases: %q, %v", id, err)
	}
	for _, id := range []string{"20261204100000", "20261204100005", "20261204100000"} { // deploy, deploy, rollback
		if err := s.CreateRelease(ctx, &Release{App: "a", Env: "e", ReleaseID: id, Commit: "c", Operator: "t"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if id, err := s.HighestReleaseID(ctx, "a", "e"); err != nil || id != "20261204100005" {
		t.Fatalf("highest %q, %v; want 20261204100005", id, err)
	}
}
