package cache

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/cachetest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// flushService wires an ops.Service to e's pool and a fresh store, and
// returns the inventory's hosts for names: each a cache host whose
// memcached runs on the host's own address.
func flushService(t *testing.T, e *flushEnv, names ...string) (*ops.Service, []inventory.Host, map[string]*cachetest.Server) {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var hosts []inventory.Host
	servers := map[string]*cachetest.Server{}
	for _, n := range names {
		h := e.fleet.Host(n)
		srv := cachetest.StartMemcached(t, h.Addr)
		servers[n] = srv
		hosts = append(hosts, inventory.Host{Name: n, Address: h.Addr, Port: h.Port, User: e.fleet.User, IdentityFile: e.fleet.ClientKeyPath,
			Roles: []string{"cache"}, Settings: map[string]inventory.RoleSettings{"cache": {Options: map[string]string{
				"kind": "memcached", "address": h.Addr, "port": fmt.Sprint(srv.Port)}}}})
	}
	return &ops.Service{Store: st, Conn: e.pool, Operator: "alice", Args: []string{"flush", "--yes"}}, hosts, servers
}

// TestFlushRecordedRecordsItsRun flushes real memcached servers through
// real sshd hosts and finds the run recorded: a flush run of the
// environment, whose command says what each host flushed.
func TestFlushRecordedRecordsItsRun(t *testing.T) {
	cachetest.RequireMemcached(t)
	e := newFlushEnv(t, "c1", "c2")
	svc, hosts, servers := flushService(t, e, "c1", "c2")
	for _, srv := range servers {
		srv.Set(0, "k1", "k2")
	}
	specs, err := Plan(&inventory.Fleet{Hosts: hosts}, hosts, DefaultRole, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	var evs events
	rep, rec, err := FlushRecorded(context.Background(), svc, FlushRequest{Env: "staging", Hosts: hosts, Specs: specs}, evs.emit)
	if err != nil || rec == nil || len(rep.Hosts) != 2 || len(rep.Failed()) != 0 || rep.Run.OK != 2 {
		t.Fatalf("FlushRecorded: %+v, %v", rep, err)
	}
	for n, srv := range servers {
		if left := srv.Has(0, "k1", "k2"); len(left) != 0 {
			t.Errorf("%s still holds %v", n, left)
		}
	}
	if !strings.Contains(evs.text("c1"), "## after") {
		t.Errorf("events passed on, c1:\n%s", evs.text("c1"))
	}
	run, err := svc.Store.Run(context.Background(), rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("flush c1: memcached %s; c2: memcached %s", servers["c1"].Address(), servers["c2"].Address())
	if run.Kind != store.KindFlush || run.Env != "staging" || run.Command != want || run.Operator != "alice" ||
		run.Args != `["flush","--yes"]` || run.Result != store.RunOK || run.FinishedAt == 0 {
		t.Errorf("recorded run %+v, want command %q", run, want)
	}
	rows, err := svc.Store.RunHosts(context.Background(), run.ID)
	if err != nil || len(rows) != 2 || rows[0].Status != store.HostOK || rows[1].Status != store.HostOK || rows[0].OutputBytes == 0 {
		t.Errorf("run hosts %+v, %v", rows, err)
	}
}

// TestFlushRecordedRefusesBeforeRecording: what Flush would refuse (a host
// without a spec, invalid options) is an *ops.InvalidError in Flush's
// words, and nothing is recorded or flushed.
func TestFlushRecordedRefusesBeforeRecording(t *testing.T) {
	cachetest.RequireMemcached(t)
	e := newFlushEnv(t, "c1", "c2")
	svc, hosts, servers := flushService(t, e, "c1", "c2")
	servers["c1"].Set(0, "keep")
	specs, err := Plan(&inventory.Fleet{Hosts: hosts}, hosts, DefaultRole, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		req  FlushRequest
		want string
	}{
		{FlushRequest{Hosts: hosts, Specs: specs[:1]}, "flush: no cache settings for host c2"},
		{FlushRequest{Hosts: hosts, Specs: specs, Options: remote.RunOptions{Parallel: -1}}, "flush: negative Parallel"},
		{FlushRequest{Hosts: hosts, Specs: specs, Options: remote.RunOptions{Timeout: -1}}, "flush c1: ops: negative Parallel, Timeout or KillGrace"},
	} {
		_, rec, err := FlushRecorded(context.Background(), svc, c.req, nil)
		var ie *ops.InvalidError
		if !errors.As(err, &ie) || err.Error() != c.want || rec != nil {
			t.Errorf("err %v, want an InvalidError %q (recorder %v)", err, c.want, rec)
		}
	}
	if runs, err := svc.Store.ListRuns(context.Background(), store.RunFilter{}); err != nil || len(runs) != 0 {
		t.Errorf("recorded %+v, %v", runs, err)
	}
	if left := servers["c1"].Has(0, "keep"); len(left) != 1 {
		t.Error("a refused flush flushed")
	}
}
