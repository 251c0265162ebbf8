package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

func TestRunLifecycle(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	run, hosts, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "alice", Command: "uname -n",
		Args: []string{"exec", "--role", "web"}, Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(hosts) != 2 || hosts[0].ID == 0 || hosts[0].Status != HostQueued {
		t.Fatalf("hosts = %+v", hosts)
	}
	chunks := []Chunk{{Seq: 0, Stream: "stdout", Data: []byte("web1\n")}, {Seq: 1, Stream: "stderr", Data: []byte{0xff, 0xfe, '\n'}}}
	if err := s.AppendOutput(ctx, hosts[0].ID, chunks); err != nil {
		t.Fatal(err)
	}
	code := 0
	hosts[0].Status, hosts[0].ExitCode, hosts[0].DurationMS = HostOK, &code, 42
	if err := s.UpdateRunHost(ctx, hosts[0]); err != nil {
		t.Fatal(err)
	}
	hosts[1].Status, hosts[1].ErrorClass, hosts[1].Error = HostFailed, "unreachable", "dial tcp: connection refused"
	if err := s.UpdateRunHost(ctx, hosts[1]); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRun(ctx, run.ID, RunPartial, "1 ok, 1 failed"); err != nil {
		t.Fatal(err)
	}

	got, err := s.Run(ctx, run.ID)
	if err != nil || got.Result != RunPartial || got.FinishedAt == 0 || got.Args != `["exec","--role","web"]` {
		t.Fatalf("run = %+v, %v", got, err)
	}
	hs, _ := s.RunHosts(ctx, run.ID)
	if *hs[0].ExitCode != 0 || hs[1].ExitCode != nil || hs[1].ErrorClass != "unreachable" {
		t.Errorf("run hosts = %+v", hs)
	}
	out, _ := s.Output(ctx, hosts[0].ID)
	if len(out) != 2 || string(out[1].Data) != "\xff\xfe\n" || out[1].Stream != "stderr" {
		t.Errorf("output = %+v (binary output must survive)", out)
	}
	if _, err := s.Run(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	byHost, _ := s.ListRuns(ctx, RunFilter{Host: "web2"})
	if len(byHost) != 1 {
		t.Errorf("runs on web2 = %d", len(byHost))
	}
}

func TestReapStaleRuns(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	live, _, _ := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"h"}})
	dead, _, _ := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "a", Hosts: []string{"h"}})
	// A pid that cannot exist stands for an opsui that was killed.
	s.db.Exec(s.db.Rebind(`UPDATE runs SET pid = ? WHERE id = ?`), 1<<30, dead.ID)
	n, err := s.ReapStaleRuns(ctx)
	if err != nil || n != 1 {
		t.Fatalf("reaped %d, %v; want 1", n, err)
	}
	if r, _ := s.Run(ctx, dead.ID); r.Result != RunInterrupted {
		t.Errorf("dead run result = %s", r.Result)
	}
	if hs, _ := s.RunHosts(ctx, dead.ID); hs[0].Status != HostCancelled {
		t.Errorf("dead run host = %s", hs[0].Status)
	}
	if r, _ := s.Run(ctx, live.ID); r.Result != RunRunning {
		t.Errorf("live run (this process) result = %s", r.Result)
	}
	if r, _ := s.Run(ctx, live.ID); r.Machine != Machine() || r.Machine == "" {
		t.Errorf("run recorded machine %q, want %q", r.Machine, Machine())
	}
	// A teammate's run on a shared store: its pid is another machine's,
	// so this machine cannot judge it and leaves it running; a run from
	// before machines were recorded is this machine's (a local file).
	theirs, _, _ := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "bob@laptop2", Hosts: []string{"h"}})
	old, _, _ := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"h"}})
	s.db.MustExec(s.db.Rebind(`UPDATE runs SET pid = ?, machine = 'laptop2.example' WHERE id = ?`), 1<<30, theirs.ID)
	s.db.MustExec(s.db.Rebind(`UPDATE runs SET pid = ?, machine = '' WHERE id = ?`), 1<<30, old.ID)
	if n, err := s.ReapStaleRuns(ctx); err != nil || n != 1 {
		t.Fatalf("second reap: %d, %v; want 1 (the run without a machine)", n, err)
	}
	if r, _ := s.Run(ctx, theirs.ID); r.Result != RunRunning {
		t.Errorf("another machine's run was reaped: %s", r.Result)
	}
	if r, _ := s.Run(ctx, old.ID); r.Result != RunInterrupted {
		t.Errorf("a run without a machine, pid gone: %s", r.Result)
	}
}

func TestReleases(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	first := Release{App: "shop", Env: "production", ReleaseID: "20261101120000", Commit: "aaaa111122223333444455556666777788889999", Operator: "alice"}
	if err := s.CreateRelease(ctx, &first, []string{"web1", "web2"}); err != nil {
		t.Fatal(err)
	}
	if first.PreviousID.Valid {
		t.Error("first release has a previous one")
	}
	if err := s.FinishRelease(ctx, first.ID, ReleaseSuccess, true); err != nil {
		t.Fatal(err)
	}
	second := Release{App: "shop", Env: "production", ReleaseID: "20261102120000", Commit: "bbbb111122223333444455556666777788889999", Operator: "bob"}
	if err := s.CreateRelease(ctx, &second, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if !second.PreviousID.Valid || second.PreviousID.Int64 != first.ID {
		t.Errorf("previous = %+v, want %d", second.PreviousID, first.ID)
	}
	s.FinishRelease(ctx, second.ID, ReleaseFailed, false)

	latest, err := s.LatestRelease(ctx, "shop", "production", true)
	if err != nil || latest.ID != first.ID || !latest.MigrationsApplied {
		t.Errorf("latest good = %+v, %v", latest, err)
	}
	latest, _ = s.LatestRelease(ctx, "shop", "production", false)
	if latest.ID != second.ID || latest.Result != ReleaseFailed {
		t.Errorf("latest = %+v", latest)
	}
	byCommit, _ := s.ReleasesByCommit(ctx, "bbbb11")
	if len(byCommit) != 1 || byCommit[0].ID != second.ID || byCommit[0].HostList()[0] != "web1" {
		t.Errorf("by commit = %+v", byCommit)
	}
	if _, err := s.LatestRelease(ctx, "shop", "staging", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("no staging release: %v", err)
	}
}

func TestPruneDeletesOnlyOldOutput(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	var runs []Run
	for i := range 5 {
		r, hs, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "a", Hosts: []string{"web1"}})
		if err != nil {
			t.Fatal(err)
		}
		s.AppendOutput(ctx, hs[0].ID, []Chunk{{Seq: 0, Stream: "stdout", Data: []byte(fmt.Sprintf("run %d\n", i))}})
		s.FinishRun(ctx, r.ID, RunOK, "")
		rel := Release{App: "shop", Env: "production", ReleaseID: strconv.Itoa(i), Commit: "c", Operator: "a", RunID: nullInt(r.ID)}
		s.CreateRelease(ctx, &rel, nil)
		// Age the runs: run i started i*10 days ago.
		s.db.Exec(s.db.Rebind(`UPDATE runs SET started_at = ? WHERE id = ?`), MillisOf(time.Now().Add(-time.Duration(i)*240*time.Hour)), r.ID)
		runs = append(runs, r)
	}
	running, rhs, _ := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"web1"}})
	s.AppendOutput(ctx, rhs[0].ID, []Chunk{{Seq: 0, Stream: "stdout", Data: []byte("still going")}})
	s.db.Exec(s.db.Rebind(`UPDATE runs SET started_at = 1 WHERE id = ?`), running.ID)

	if _, err := s.Prune(ctx, PruneOptions{}); err == nil {
		t.Error("prune without a rule was accepted")
	}
	dry, err := s.Prune(ctx, PruneOptions{OlderThan: 15 * 24 * time.Hour, DryRun: true})
	if err != nil || dry.Runs != 3 || dry.Chunks != 3 {
		t.Fatalf("dry run = %+v, %v; want 3 runs (20, 30, 40 days old)", dry, err)
	}
	var chunks int
	s.db.Get(&chunks, `SELECT COUNT(*) FROM run_output`)
	if chunks != 6 {
		t.Fatalf("dry run deleted output: %d chunks left", chunks)
	}

	res, err := s.Prune(ctx, PruneOptions{KeepRuns: 3, OlderThan: 15 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Newest three by start time: the running one (kept anyway) is oldest,
	// so runs 0, 1, 2 are kept; 3 and 4 are both beyond and old.
	if res.Runs != 2 || res.Chunks != 2 || res.Bytes != int64(len("run 3\n")+len("run 4\n")) {
		t.Errorf("prune = %+v, want 2 runs, 2 chunks", res)
	}
	for i, r := range runs {
		got, _ := s.Run(ctx, r.ID)
		if got.OutputPruned != (i >= 3) {
			t.Errorf("run %d output_pruned = %v", i, got.OutputPruned)
		}
	}
	var releases int
	s.db.Get(&releases, `SELECT COUNT(*) FROM releases`)
	if releases != 5 {
		t.Errorf("prune deleted release records: %d left", releases)
	}
	if out, _ := s.Output(ctx, rhs[0].ID); len(out) != 1 {
		t.Error("prune deleted the output of a running run")
	}
}

// TestTwoProcessesShareOneDatabase runs three real opsui-store processes
// writing to one database at once (a file, or a PostgreSQL database on the
// PostgreSQL pass): runs with output and releases, and fleet edits through
// UpdateFleet. Every write must land exactly once.
func TestTwoProcessesShareOneDatabase(t *testing.T) {
	const processes, perProcess = 3, 100
	path := testTarget(t)
	var wg sync.WaitGroup
	errs := make([]error, processes)
	out := make([][]byte, processes)
	for i := range processes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestWriterProcess$", "-test.count=1")
			cmd.Env = append(os.Environ(), "OPSUI_TEST_WRITER_DB="+path, "OPSUI_TEST_WRITER_N="+strconv.Itoa(perProcess),
				"OPSUI_TEST_WRITER_ID="+strconv.Itoa(i))
			out[i], errs[i] = cmd.CombinedOutput()
		}()
	}
	wg.Wait()
	for i := range processes {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], out[i])
		}
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var runs, chunks, releases, recorded int
	s.db.Get(&runs, `SELECT COUNT(*) FROM runs WHERE result = 'ok'`)
	s.db.Get(&chunks, `SELECT COUNT(*) FROM run_output`)
	s.db.Get(&releases, `SELECT COUNT(*) FROM releases WHERE result = 'success'`)
	s.db.Get(&recorded, `SELECT CAST(SUM(recorded_bytes) AS BIGINT) FROM run_hosts`)
	n := processes * perProcess
	if runs != n || chunks != n*3 || releases != n || recorded != n*3*len("line\n") {
		t.Errorf("runs = %d, chunks = %d, releases = %d, recorded bytes = %d; want %d, %d, %d, %d",
			runs, chunks, releases, recorded, n, n*3, n, n*3*len("line\n"))
	}
	f, _ := s.LoadFleet(context.Background())
	if want := processes * (perProcess/15 + 1); len(f.Hosts) != want {
		t.Errorf("hosts = %d, want %d (each process added %d through UpdateFleet)", len(f.Hosts), want, perProcess/15+1)
	}
}

// TestWriterProcess is the child of TestTwoProcessesShareOneDatabase.
func TestWriterProcess(t *testing.T) {
	path := os.Getenv("OPSUI_TEST_WRITER_DB")
	if path == "" {
		t.Skip("helper process for TestTwoProcessesShareOneDatabase")
	}
	n, _ := strconv.Atoi(os.Getenv("OPSUI_TEST_WRITER_N"))
	id := os.Getenv("OPSUI_TEST_WRITER_ID")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range n {
		r, hs, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "p" + id, Hosts: []string{"web1"}})
		if err != nil {
			t.Fatal(err)
		}
		rel := &Release{App: "shop", Env: "prod", ReleaseID: fmt.Sprintf("p%s-%d", id, i), Commit: "c0ffee", Operator: "p" + id, RunID: nullInt(r.ID)}
		if err := s.CreateRelease(ctx, rel, []string{"web1"}); err != nil {
			t.Fatal(err)
		}
		for seq := range 3 {
			if err := s.AppendOutput(ctx, hs[0].ID, []Chunk{{Seq: int64(seq), Stream: "stdout", Data: []byte("line\n")}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.FinishRelease(ctx, rel.ID, ReleaseSuccess, false); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, r.ID, RunOK, ""); err != nil {
			t.Fatal(err)
		}
		if i%15 == 0 {
			_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
				f.Hosts = append(f.Hosts, inventory.Host{Name: fmt.Sprintf("p%s-h%d", id, i), Address: "10.0.0.1"})
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

func nullInt(v int64) sql.NullInt64 { return sql.NullInt64{Int64: v, Valid: true} }
