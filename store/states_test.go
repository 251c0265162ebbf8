package store

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestNewRunStatesAreStored writes every run result, host status and
// release result through a fresh and a reopened database: the schema's
// checks accept each word states.go defines, and still refuse others
// (rolled-back among them: one spelling, rolled_back).
func TestNewRunStatesAreStored(t *testing.T) {
	ctx := context.Background()
	path := testTarget(t)
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
			if err := s.FinishRun(ctx, r.ID, res, ""); err != nil {
				t.Errorf("round %d: result %s: %v", round, res, err)
			}
			hosts[0].Status = HostRolledBack
			if err := s.UpdateRunHost(ctx, hosts[0]); err != nil {
				t.Errorf("round %d: host status %s: %v", round, HostRolledBack, err)
			}
			got, err := s.Run(ctx, r.ID)
			if err != nil || got.Result != res {
				t.Errorf("round %d: stored %q (%v), want %q", round, got.Result, err, res)
			}
		}
		r, hosts, _ := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "t", Hosts: []string{"h1"}})
		if err := s.FinishRun(ctx, r.ID, "sort-of-ok", ""); err == nil || !strings.Contains(strings.ToLower(err.Error()), "check") {
			t.Errorf("an unknown result was stored: %v", err)
		}
		// Every host status and release result reads back as written;
		// the other spelling of rolled_back is refused.
		for _, st := range hostStatuses {
			hosts[0].Status = st
			if err := s.UpdateRunHost(ctx, hosts[0]); err != nil {
				t.Errorf("round %d: host status %s: %v", round, st, err)
			}
			if got, err := s.RunHosts(ctx, r.ID); err != nil || got[0].Status != st {
				t.Errorf("round %d: stored host %+v (%v), want %s", round, got, err, st)
			}
		}
		hosts[0].Status = "rolled-back"
		if err := s.UpdateRunHost(ctx, hosts[0]); err == nil {
			t.Errorf("round %d: host status rolled-back stored", round)
		}
		rel := &Release{App: "a", Env: "e", ReleaseID: fmt.Sprint(round), Commit: "c", Operator: "t"}
		if err := s.CreateRelease(ctx, rel, nil); err != nil {
			t.Fatal(err)
		}
		for _, res := range releaseResults {
			if err := s.FinishRelease(ctx, rel.ID, res, false); err != nil {
				t.Errorf("round %d: release result %s: %v", round, res, err)
			}
			if got, err := s.ReleaseNamed(ctx, "a", "e", rel.ReleaseID); err != nil || got.Result != res {
				t.Errorf("round %d: stored release %s (%v), want %s", round, got.Result, err, res)
			}
		}
		if err := s.FinishRelease(ctx, rel.ID, "rolled-back", false); err == nil {
			t.Errorf("round %d: release result rolled-back stored", round)
		}
		s.Close()
	}
}

// TestParseStates: every word of each vocabulary parses back to itself,
// and nothing else parses (the one spelling of rolled_back included).
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
	for _, h := range hostStatuses {
		if got, err := ParseHostStatus(h.String()); err != nil || got != h {
			t.Errorf("host status %s: %v %v", h, got, err)
		}
	}
	for _, bad := range []string{"rolled-back", "", "OK", "not reached"} {
		if _, err := ParseReleaseResult(bad); err == nil {
			t.Errorf("release result %q parsed", bad)
		}
		if _, err := ParseRunResult(bad); err == nil {
			t.Errorf("run result %q parsed", bad)
		}
		if _, err := ParseHostStatus(bad); err == nil {
			t.Errorf("host status %q parsed", bad)
		}
	}
	if RunOfRelease(ReleaseRolledBack) != RunRolledBack || RunOfRelease(ReleaseSuccess) != RunOK || RunOfRelease(ReleaseAborted) != RunAborted {
		t.Error("a release's run does not end with its word")
	}
}

// TestFailedPredicates lists every word of each vocabulary with whether it
// is a failure, so a word added later must be decided here.
func TestFailedPredicates(t *testing.T) {
	releases := map[ReleaseResult]bool{ReleaseRunning: false, ReleaseSuccess: false, ReleaseFailed: true, ReleaseAborted: true,
		ReleaseBad: true, ReleaseRolledBack: true, ReleaseInterrupted: true}
	runs := map[RunResult]bool{RunRunning: false, RunOK: false, RunFailed: true, RunPartial: true, RunCancelled: false,
		RunInterrupted: false, RunRolledBack: true, RunAborted: true, RunRefused: true}
	hosts := map[HostStatus]bool{HostQueued: false, HostConnecting: false, HostRunning: false, HostOK: false, HostFailed: true,
		HostCancelled: false, HostSkipped: false, HostRolledBack: false}
	if len(releases) != len(releaseResults) || len(runs) != len(runResults) || len(hosts) != len(hostStatuses) {
		t.Fatalf("the tables miss words: %d/%d release results, %d/%d run results, %d/%d host statuses",
			len(releases), len(releaseResults), len(runs), len(runResults), len(hosts), len(hostStatuses))
	}
	for _, r := range releaseResults {
		if got, want := r.Failed(), releases[r]; got != want {
			t.Errorf("release result %s: Failed %v, want %v", r, got, want)
		}
	}
	for _, r := range runResults {
		if got, want := r.Failed(), runs[r]; got != want {
			t.Errorf("run result %s: Failed %v, want %v", r, got, want)
		}
	}
	for _, h := range hostStatuses {
		if got, want := h.Failed(), hosts[h]; got != want {
			t.Errorf("host status %s: Failed %v, want %v", h, got, want)
		}
	}
	// A run of a failed release is a failed run, of a good one a good run.
	for _, r := range releaseResults {
		if r != ReleaseInterrupted && RunOfRelease(r).Failed() != r.Failed() {
			t.Errorf("release %s fails %v but its run %s fails %v", r, r.Failed(), RunOfRelease(r), RunOfRelease(r).Failed())
		}
	}
}

// TestReapStaleReleases: ReapStaleRuns marks the release of a run whose
// process died interrupted too (the console reaps with it alone), not
// running; a live run's release is left alone.
func TestReapStaleReleases(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testTarget(t))
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
		if _, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE runs SET pid = ? WHERE id = ?`), pid, r.ID); err != nil {
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
	for i, want := range []ReleaseResult{ReleaseInterrupted, ReleaseRunning} {
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
	s, err := Open(ctx, testTarget(t))
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
