package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// recordsService is a Service over a fresh store holding apps shop and
// blog in staging and production, with no hosts to reach.
func recordsService(t *testing.T) *Service {
	t.Helper()
	st := openStore(t)
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}, {Name: "production"}},
		Apps: []inventory.App{{Name: "shop", Repo: t.TempDir(), DeployTo: "/srv/shop"}, {Name: "blog", Repo: t.TempDir(), DeployTo: "/srv/blog"}}}
	if err := st.SaveFleet(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return &Service{Store: st}
}

// release records a finished release of app to env with its own run.
func release(t *testing.T, s *Service, app, env, id, commit, kind string, result store.ReleaseResult) store.Release {
	t.Helper()
	ctx := context.Background()
	run, _, err := s.Store.StartRun(ctx, store.NewRun{Kind: kind, App: app, Env: env, Operator: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	r := store.Release{App: app, Env: env, ReleaseID: id, Kind: kind, Commit: commit, Operator: "alice",
		RunID: sql.NullInt64{Int64: run.ID, Valid: true}}
	if err := s.Store.CreateRelease(ctx, &r, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.FinishRelease(ctx, r.ID, result, false); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.FinishRun(ctx, run.ID, store.RunOfRelease(result), ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Store.ReleaseOfRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestServiceReleases lists the releases of one app and env, of every app
// and env of the inventory, and of a commit (a short hash, any case).
func TestServiceReleases(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	release(t, s, "shop", "staging", "20261201000000", "aaaa1111", store.KindDeploy, store.ReleaseSuccess)
	release(t, s, "shop", "production", "20261202000000", "aaaa1111", store.KindDeploy, store.ReleaseFailed)
	release(t, s, "blog", "staging", "20261203000000", "bbbb2222", store.KindDeploy, store.ReleaseSuccess)
	release(t, s, "shop", "staging", "20261204000000", "cccc3333", store.KindDeploy, store.ReleaseSuccess)
	ids := func(rs []store.Release) string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ReleaseID[6:8])
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		q    ReleaseQuery
		want string
	}{
		{ReleaseQuery{App: "shop", Env: "staging"}, "04,01"},
		{ReleaseQuery{App: "shop", Env: "staging", Limit: 1}, "04"},
		{ReleaseQuery{App: "shop"}, "04,01,02"},
		{ReleaseQuery{Env: "staging"}, "04,01,03"},
		{ReleaseQuery{}, "04,01,02,03"},
		{ReleaseQuery{Commit: "AAAA"}, "02,01"},
		{ReleaseQuery{Commit: "aaaa", Env: "staging"}, "01"},
		{ReleaseQuery{Commit: "dddd"}, ""},
	} {
		rs, err := s.Releases(ctx, c.q)
		if err != nil || ids(rs) != c.want {
			t.Errorf("Releases(%+v): %s, %v; want %s", c.q, ids(rs), err, c.want)
		}
	}
}

// TestServiceFindRelease finds a release by its id (its deploy, not a
// rollback to it), its run id and a commit prefix, refuses a prefix that
// names several releases with an *InvalidError, and says what it takes
// when nothing matches.
func TestServiceFindRelease(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	d1 := release(t, s, "shop", "staging", "20261201000000", "aaaa1111", store.KindDeploy, store.ReleaseSuccess)
	d2 := release(t, s, "shop", "staging", "20261202000000", "aaaa2222", store.KindDeploy, store.ReleaseFailed)
	rb := release(t, s, "shop", "staging", "20261201000000", "aaaa1111", store.KindRollback, store.ReleaseSuccess)
	p := release(t, s, "shop", "production", "20261203000000", "cccc3333", store.KindDeploy, store.ReleaseSuccess)
	for _, c := range []struct {
		app, env, arg string
		want          int64
	}{
		{"", "", "20261201000000", d1.ID},           // the deploy, though the rollback is newer
		{"", "", fmt.Sprint(rb.RunID.Int64), rb.ID}, // a run id names its own record
		{"", "", "aaaa2", d2.ID},
		{"", "", "CCCC", p.ID},
		{"shop", "production", "cccc3333", p.ID},
	} {
		r, err := s.FindRelease(ctx, c.app, c.env, c.arg)
		if err != nil || r.ID != c.want {
			t.Errorf("FindRelease(%q, %q, %q): #%d, %v; want #%d", c.app, c.env, c.arg, r.ID, err, c.want)
		}
	}
	_, err := s.FindRelease(ctx, "", "", "aaaa")
	var ie *InvalidError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "commit aaaa is ambiguous: it matches shop/staging/20261201000000, shop/staging/20261202000000") {
		t.Errorf("an ambiguous prefix: %v", err)
	}
	if _, err := s.FindRelease(ctx, "shop", "staging", "cccc3333"); err == nil ||
		err.Error() != `no recorded release matches "cccc3333" (app shop, env staging): give a release id, a run id or a commit prefix (see opsui releases)` {
		t.Errorf("a release of another env: %v", err)
	}
}

// TestServiceCompareRefuses: releases of two apps are an *InvalidError;
// an app the inventory lost is an *UnknownNameError naming the apps it has.
func TestServiceCompareRefuses(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	release(t, s, "shop", "staging", "20261201000000", "aaaa1111", store.KindDeploy, store.ReleaseSuccess)
	release(t, s, "blog", "staging", "20261202000000", "bbbb2222", store.KindDeploy, store.ReleaseSuccess)
	gone := release(t, s, "wiki", "staging", "20261203000000", "cccc3333", store.KindDeploy, store.ReleaseSuccess)
	_, err := s.CompareReleases(ctx, CompareQuery{A: "aaaa1111", B: "bbbb2222"})
	var ie *InvalidError
	if !errors.As(err, &ie) || err.Error() != "aaaa1111 is a release of shop and bbbb2222 one of blog: compare releases of one app" {
		t.Errorf("releases of two apps: %v", err)
	}
	_, err = s.Compare(ctx, gone, gone)
	var ue *UnknownNameError
	if !errors.As(err, &ue) || ue.Kind != "app" || ue.Name != "wiki" || strings.Join(ue.Known, ",") != "shop,blog" {
		t.Errorf("an app the inventory lost: %v", err)
	}
}

// TestServiceRunsAndLastRuns: Runs lists the newest runs, LastRuns a
// host's with its own part in each (its status, not the run's result).
func TestServiceRunsAndLastRuns(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	for i, hosts := range [][]string{{"web1", "web2"}, {"web2"}, {"web1"}} {
		run, rows, err := s.Store.StartRun(ctx, store.NewRun{Kind: store.KindExec, Command: fmt.Sprint("cmd", i), Operator: "alice", Hosts: hosts})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range rows {
			h.Status, h.DurationMS = store.HostOK, 100
			if h.Host == "web1" && i == 0 {
				h.Status, h.ErrorClass = store.HostFailed, "exit"
			}
			if err := s.Store.UpdateRunHost(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Store.FinishRun(ctx, run.ID, store.RunPartial, ""); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := s.Runs(ctx, store.RunFilter{Limit: 2})
	if err != nil || len(runs) != 2 || runs[0].Command != "cmd2" || runs[1].Command != "cmd1" {
		t.Fatalf("Runs: %+v, %v", runs, err)
	}
	last, err := s.LastRuns(ctx, "web1", 5)
	if err != nil || len(last) != 2 {
		t.Fatalf("LastRuns: %+v, %v", last, err)
	}
	if r := last[1]; r.Run.Command != "cmd0" || r.Run.Result != store.RunPartial || r.Host.Host != "web1" ||
		r.Host.Status != store.HostFailed || r.Host.ErrorClass != "exit" || r.Host.Took() != 100*time.Millisecond {
		t.Errorf("web1's part in cmd0: %+v", r)
	}
	if r := last[0]; r.Run.Command != "cmd2" || r.Host.Status != store.HostOK {
		t.Errorf("web1's part in cmd2: %+v", r)
	}
}

// TestServiceRunReadsRecordedRun: Run reads what the recorder wrote, every
// host's part, and streams the output, not loading it with the run.
func TestServiceRunReadsRecordedRun(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	st := s.Store
	run, hosts, err := st.StartRun(ctx, store.NewRun{Kind: store.KindDeploy, Operator: "alice", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	code := 2
	if err := st.AppendOutput(ctx, hosts[1].ID, []store.Chunk{{Seq: 1, Stream: "meta", Data: []byte("== migrate\n")},
		{Seq: 2, Stream: "stderr", Data: []byte("boom\n")}}); err != nil {
		t.Fatal(err)
	}
	hosts[1].Status, hosts[1].Stage, hosts[1].ExitCode, hosts[1].ErrorClass, hosts[1].DurationMS = store.HostFailed, "migrate", &code, "command-failed", 1500
	hosts[0].Status = store.HostOK
	for _, h := range hosts {
		if err := st.UpdateRunHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishRun(ctx, run.ID, store.RunPartial, "1 failed, 1 ok"); err != nil {
		t.Fatal(err)
	}
	rec, err := s.Run(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ID != run.ID || rec.Result != store.RunPartial || rec.Operator != "alice" || rec.Took() < 0 {
		t.Errorf("recorded run %+v", rec.Run)
	}
	var streamed [2][]OutputChunk
	if err := rec.Stream(ctx, 0, func(i int, c OutputChunk) error { streamed[i] = append(streamed[i], c); return nil }); err != nil {
		t.Fatal(err)
	}
	h, out := rec.Hosts[1], streamed[1]
	if len(rec.Hosts) != 2 || h.Host != "web2" || h.Stage != "migrate" || *h.ExitCode != 2 || h.ErrorClass != "command-failed" ||
		h.Took() != 1500*time.Millisecond || len(out) != 2 || out[0].Stream != "meta" || string(out[1].Data) != "boom\n" ||
		len(streamed[0]) != 0 || h.RecordedBytes != 5 || h.OutputBytes != 5 {
		t.Errorf("recorded run %+v, output %+v", rec, streamed)
	}
	if _, err := s.Run(ctx, run.ID+1); err == nil {
		t.Error("an unknown run loaded")
	}
}

// TestServiceRunStreamsTheTail: a recorded run's stream gives each host's
// output in order, from where its last tail bytes begin, the first chunk
// saying how much it skipped.
func TestServiceRunStreamsTheTail(t *testing.T) {
	s := recordsService(t)
	ctx := context.Background()
	st := s.Store
	_, hosts, err := st.StartRun(ctx, store.NewRun{Kind: store.KindExec, Operator: "a", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	for h, row := range hosts {
		var chunks []store.Chunk
		for i := 1; i <= 100; i++ {
			chunks = append(chunks, store.Chunk{Seq: int64(i), Stream: "stdout", Data: fmt.Appendf(nil, "web%d %05d\n", h+1, i)})
		}
		if err := st.AppendOutput(ctx, row.ID, chunks); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := s.Run(ctx, hosts[0].RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tail    int64
		want    string // per host: the first line streamed and how many
		skipped int64
	}{{0, "00001 x100", 0}, {55, "00096 x5", 95 * 11}, {1 << 20, "00001 x100", 0}} {
		got := map[int][]OutputChunk{}
		err := rec.Stream(ctx, tc.tail, func(i int, c OutputChunk) error { got[i] = append(got[i], c); return nil })
		if err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			cs := got[i]
			first := string(cs[0].Data)
			summary := fmt.Sprintf("%s x%d", strings.TrimSpace(first[5:]), len(cs))
			if summary != tc.want || !strings.HasPrefix(first, fmt.Sprintf("web%d ", i+1)) || cs[0].Skipped != tc.skipped ||
				(len(cs) > 1 && cs[1].Skipped != 0) || string(cs[len(cs)-1].Data) != fmt.Sprintf("web%d 00100\n", i+1) {
				t.Errorf("tail %d, host %d: %s from %q, skipped %d; want %s, skipped %d", tc.tail, i, summary, first, cs[0].Skipped, tc.want, tc.skipped)
			}
		}
	}
}

// gitRepo makes a repository with a commit per subject and returns it
// with the commits' hashes, oldest first.
func gitRepo(t *testing.T, subjects ...string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=Dev", "-c", "user.email=dev@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	var hashes []string
	for i, s := range subjects {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "f")
		git("commit", "-q", "-m", s)
		hashes = append(hashes, git("rev-parse", "HEAD"))
	}
	return dir, hashes
}

// TestServicePending lists the commits a ref brings to an environment
// (all of them before its first release), those it would take back, and
// refuses a ref that names no commit with deploy's UnknownRefError.
func TestServicePending(t *testing.T) {
	testenv.RequireProgram(t, "git", "git")
	s := recordsService(t)
	ctx := context.Background()
	repo, c := gitRepo(t, "one", "two", "three")
	app := inventory.App{Name: "shop", Repo: repo}
	p, err := s.Pending(ctx, app, "staging", "")
	if err != nil || p.Current.ID != 0 || p.Target.Commit != c[2] || p.Target.Branch != "main" {
		t.Fatalf("before any release: %+v, %v", p, err)
	}
	release(t, s, "shop", "staging", "20261201000000", c[0], store.KindDeploy, store.ReleaseSuccess)
	release(t, s, "shop", "staging", "20261202000000", c[2], store.KindDeploy, store.ReleaseFailed) // not what runs
	p, err = s.Pending(ctx, app, "staging", "")
	if err != nil || p.Current.Commit != c[0] || len(p.Commits) != 2 || p.Commits[0].Subject != "three" || p.Commits[1].Subject != "two" || len(p.Behind) != 0 {
		t.Errorf("HEAD over one: %+v, %v", p, err)
	}
	release(t, s, "shop", "staging", "20261203000000", c[2], store.KindDeploy, store.ReleaseSuccess)
	p, err = s.Pending(ctx, app, "staging", c[1])
	if err != nil || len(p.Commits) != 0 || len(p.Behind) != 1 || p.Behind[0].Subject != "three" {
		t.Errorf("two over three: %+v, %v", p, err)
	}
	_, err = s.Pending(ctx, app, "staging", "no-such-ref")
	var ue *deploy.UnknownRefError
	if !errors.As(err, &ue) {
		t.Errorf("an unknown ref: %v", err)
	}
}
