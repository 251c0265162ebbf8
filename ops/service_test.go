package ops

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// serviceFor wires a Service to e's hosts and a fresh store, as the
// console does (Args "console"); it returns the hosts as the inventory
// has them.
func serviceFor(t *testing.T, e *remotetest.Env) (*Service, []inventory.Host) {
	t.Helper()
	st := openStore(t)
	var hosts []inventory.Host
	for _, h := range e.Fleet.Hosts {
		hosts = append(hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: e.Fleet.User, IdentityFile: e.Fleet.ClientKeyPath})
	}
	return &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"console"}}, hosts
}

// TestServiceExecRecordsItsRun: Exec runs on real hosts, passes every
// event on, and records the run with the service's operator and
// arguments, each host's outcome and output.
func TestServiceExecRecordsItsRun(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	svc, hosts := serviceFor(t, e)
	ctx := context.Background()
	log := remotetest.NewLog()
	const cmd = `uname -n; test "$(uname -n)" != web2`
	res, rec, err := svc.Exec(ctx, ExecRequest{Hosts: hosts, Command: cmd}, log.Emit)
	if err != nil || res.OK != 1 || res.Failed != 1 || rec == nil {
		t.Fatalf("Exec: %+v, %v", res, err)
	}
	if got := log.Text("web2", remote.EventStdout); got != "web2\n" {
		t.Errorf("events passed on: web2 stdout %q", got)
	}
	run, err := svc.Store.Run(ctx, rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != store.KindExec || run.Operator != "alice" || run.Args != `["console"]` || run.Command != cmd ||
		run.Result != store.RunPartial || run.FinishedAt == 0 || run.Summary != res.Summary() {
		t.Errorf("recorded run %+v", run)
	}
	rows, err := svc.Store.RunHosts(ctx, run.ID)
	if err != nil || len(rows) != 2 {
		t.Fatalf("run hosts %+v, %v", rows, err)
	}
	for _, row := range rows {
		want := store.HostOK
		if row.Host == "web2" {
			want = store.HostFailed
		}
		if out := stdoutOf(t, svc.Store, row); row.Status != want || out != row.Host+"\n" {
			t.Errorf("host %s: %s, output %q", row.Host, row.Status, out)
		}
	}
}

// TestServiceExecFinishesACancelledRun: ctrl+c while the command runs
// still finishes the record (cancelled), so no run stays "running".
func TestServiceExecFinishesACancelledRun(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	svc, hosts := serviceFor(t, e)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	started := 0
	res, rec, err := svc.Exec(ctx, ExecRequest{Hosts: hosts, Command: "sleep 30"}, func(ev remote.Event) {
		if ev.Kind != remote.EventStarted {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if started++; started == len(hosts) {
			cancel()
		}
	})
	if err != nil || res.Cancelled != 2 {
		t.Fatalf("Exec: %+v, %v", res, err)
	}
	run, err := svc.Store.Run(context.Background(), rec.RunID())
	if err != nil || run.Result != store.RunCancelled || run.FinishedAt == 0 {
		t.Fatalf("recorded run %+v, %v", run, err)
	}
	rows, _ := svc.Store.RunHosts(context.Background(), run.ID)
	for _, row := range rows {
		if row.Status != store.HostStatus(remote.StatusCancelled) || row.FinishedAt == 0 {
			t.Errorf("host %s: %s", row.Host, row.Status)
		}
	}
}

// TestServiceExecRefusesBeforeRecording: options Run would refuse are an
// *InvalidError, and nothing is recorded or run.
func TestServiceExecRefusesBeforeRecording(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 1)
	svc, hosts := serviceFor(t, e)
	for _, opts := range []remote.RunOptions{{Parallel: -1}, {Timeout: -1}, {Env: map[string]string{"A B": "x"}}} {
		ran := false
		_, rec, err := svc.Exec(context.Background(), ExecRequest{Hosts: hosts, Command: "true", Options: opts}, func(remote.Event) { ran = true })
		var ie *InvalidError
		if !errors.As(err, &ie) || rec != nil || ran {
			t.Errorf("%+v: err %v, recorder %v, ran %v", opts, err, rec, ran)
		}
	}
	if runs, err := svc.Store.ListRuns(context.Background(), store.RunFilter{}); err != nil || len(runs) != 0 {
		t.Errorf("recorded %+v, %v", runs, err)
	}
}

// TestServiceRecordError: when the record cannot be finished, the
// operation's result still comes back, with a *RecordError naming the run.
func TestServiceRecordError(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 1)
	svc, _ := serviceFor(t, e)
	res, rec, err := svc.Record(context.Background(), store.NewRun{Kind: store.KindExec, Command: "uname -n"}, e.Targets, nil,
		func(emit func(remote.Event)) (remote.Result, error) {
			res, err := remote.Run(context.Background(), e.Pool, e.Targets, "uname -n", remote.RunOptions{}, emit)
			svc.Store.Close() // the database goes away before the record is finished
			return res, err
		})
	var re *RecordError
	if !errors.As(err, &re) || rec == nil || re.RunID != rec.RunID() || res.OK != 1 {
		t.Fatalf("Record: %+v, %v", res, err)
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// stdoutOf is a host's recorded standard output.
func stdoutOf(t *testing.T, st *store.Store, row store.RunHost) string {
	t.Helper()
	chunks, err := st.Output(t.Context(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	for _, c := range chunks {
		if c.Stream == "stdout" {
			out = append(out, c.Data...)
		}
	}
	return string(out)
}
