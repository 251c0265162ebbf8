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

// TestCopyCarriesWhatReleasesCarry: a copy keeps, with the releases, what
// `releases`, the console and the deploy read beside them (the migration
// check, the watch verdict, a break-glass override, a config release's
// changes, the errors a release brought), and the freezes (the fleet
// file's and the team's) and maintenance states; a second copy adds
// nothing, and a signature another laptop saw earlier takes its first
// sighting from there. SQLite to SQLite, and to PostgreSQL on the suite's
// PostgreSQL pass.
func TestCopyCarriesWhatReleasesCarry(t *testing.T) {
	ctx := context.Background()
	alice := laptop(t, "alice@lap", 2, "alice-box")
	if _, err := alice.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Freezes = append(f.Freezes, inventory.Freeze{Env: "production", Reason: "black friday", Start: "2026-11-27 00:00", End: "2026-11-30 23:59"})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rels, err := alice.ListReleases(ctx, "shop", "production", 0)
	if err != nil || len(rels) != 2 {
		t.Fatalf("alice's releases: %v %v", rels, err)
	}
	rel := rels[0]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(alice.SaveMigrationCheck(ctx, MigrationCheck{App: "shop", Env: "production", ReleaseID: rel.ReleaseID, Host: "web1",
		Verdict: "breaking", Ops: `[{"op":"Remove field quantity from order"}]`, Allowed: "--allow-breaking-migrations by alice@lap", CheckedAt: 5}))
	must(alice.SaveReleaseWatch(ctx, ReleaseWatch{App: "shop", Env: "production", ReleaseID: rel.ReleaseID, Verdict: WatchTripped,
		Detail: "new error", Signature: "sig-1", At: 6}))
	must(alice.RecordBreakGlass(ctx, BreakGlass{App: "shop", Env: "production", ReleaseID: rel.ReleaseID, Operator: "alice@lap",
		Reason: "hotfix", Freeze: "black friday", At: 7}))
	must(alice.SaveConfigRecord(ctx, ConfigRecord{Release: rel.ID, Action: ConfigSet,
		After: map[string]inventory.EnvValue{"LOG_LEVEL": {Value: "debug"}}, Changes: []EnvChange{{Key: "LOG_LEVEL", Change: "added", New: "debug"}}}))
	_, err = alice.AddFreeze(ctx, inventory.Freeze{Env: "production", Reason: "team offsite", Start: "2026-12-24 00:00", End: "2026-12-26 23:59"}, "alice@lap")
	must(err)
	must(alice.SetMaintenance(ctx, Maintenance{App: "shop", Env: "production", On: true, Message: "back soon", RetryAfter: 300,
		Operator: "alice@lap", Since: 8, RunID: 1}))
	sig := ErrorSignature{App: "shop", Env: "production", Signature: "sig-1", Summary: "KeyError: 'cart'", FirstSeenAt: 9000,
		FirstHost: "web2", FirstReleaseID: rel.ReleaseID, FirstCommit: "abc", ReleaseFrom: "host", Seen: 3, LastSeenAt: 9500}
	must(alice.RecordErrorSignatures(ctx, []ErrorSignature{sig}))

	team := openTemp(t)
	res, err := Copy(ctx, alice, team, false)
	must(err)
	if res.Records != 7 {
		t.Errorf("copied %d records, want 7 (check, watch, break glass, config, team freeze, maintenance, signature): %+v", res.Records, res)
	}
	if c, err := team.MigrationCheckOf(ctx, "shop", "production", rel.ReleaseID); err != nil || c.Verdict != "breaking" || c.Allowed == "" {
		t.Errorf("the migration check: %+v %v", c, err)
	}
	if w, err := team.ReleaseWatchOf(ctx, "shop", "production", rel.ReleaseID); err != nil || w.Verdict != WatchTripped || w.Signature != "sig-1" {
		t.Errorf("the watch verdict: %+v %v", w, err)
	}
	if bg, err := team.BreakGlasses(ctx, "shop", "production"); err != nil || bg[rel.ReleaseID].Reason != "hotfix" {
		t.Errorf("the break-glass override: %+v %v", bg, err)
	}
	teamRels, err := team.ListReleases(ctx, "shop", "production", 0)
	must(err)
	var teamRel Release
	for _, r := range teamRels {
		if r.ReleaseID == rel.ReleaseID {
			teamRel = r
		}
	}
	if cr, err := team.ConfigRecordOf(ctx, teamRel.ID); err != nil || cr.After["LOG_LEVEL"].Value != "debug" || len(cr.Changes) != 1 {
		t.Errorf("the config release of %s (record %d): %+v %v", rel.ReleaseID, teamRel.ID, cr, err)
	}
	fzs, err := team.Freezes(ctx, "production")
	must(err)
	var reasons []string
	for _, fz := range fzs {
		reasons = append(reasons, fz.Source+": "+fz.Reason)
	}
	if fmt.Sprint(reasons) != "[fleet: black friday team: team offsite]" {
		t.Errorf("the freezes: %q", reasons)
	}
	if m, err := team.MaintenanceOf(ctx, "shop", "production"); err != nil || !m.On || m.Message != "back soon" || m.RunID != 0 {
		t.Errorf("the maintenance state: %+v %v", m, err)
	}
	if got, err := team.ErrorSignaturesOfRelease(ctx, "shop", "production", rel.ReleaseID); err != nil || len(got) != 1 || got[0].FirstHost != "web2" {
		t.Errorf("the errors release %s brought: %+v %v", rel.ReleaseID, got, err)
	}

	res, err = Copy(ctx, alice, team, true)
	must(err)
	if res.Records != 0 {
		t.Errorf("alice's copy again added %d records, want none", res.Records)
	}
	fzs, _ = team.Freezes(ctx, "production")
	if len(fzs) != 2 {
		t.Errorf("after a second copy, %d freezes, want 2", len(fzs))
	}

	// bob saw the same error earlier, on web1, under another release.
	bob := laptop(t, "bob@box", 1, "bob-box")
	early := sig
	early.FirstSeenAt, early.FirstHost, early.FirstReleaseID, early.LastSeenAt = 4000, "web1", "bob@box-0", 4000
	must(bob.RecordErrorSignatures(ctx, []ErrorSignature{early}))
	_, err = Copy(ctx, bob, team, true)
	must(err)
	got, err := team.ErrorSignaturesOf(ctx, "shop", "production", []string{"sig-1"})
	if g := got["sig-1"]; err != nil || g.FirstHost != "web1" || g.FirstReleaseID != "bob@box-0" || g.FirstSeenAt != 4000 {
		t.Errorf("the signature after bob's merge: %+v %v; want bob's earlier sighting", g, err)
	}
}
