package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/cachetest"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// flushService wires a Service to e's pool and a fresh store holding a
// staging fleet of e's hosts: each a cache host whose memcached runs on
// the host's own address. It returns the hosts as the inventory has them.
func flushService(t *testing.T, e *remotetest.Env) (*Service, []inventory.Host, map[string]*cachetest.Server) {
	t.Helper()
	st := openStore(t)
	var hosts []inventory.Host
	servers := map[string]*cachetest.Server{}
	for _, h := range e.Fleet.Hosts {
		srv := cachetest.StartMemcached(t, h.Addr)
		servers[h.Name] = srv
		hosts = append(hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, User: e.Fleet.User, IdentityFile: e.Fleet.ClientKeyPath,
			Env: "staging", Roles: []string{"cache"}, Settings: map[string]inventory.RoleSettings{"cache": {Options: map[string]string{
				"kind": "memcached", "address": h.Addr, "port": fmt.Sprint(srv.Port)}}}})
	}
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}}, Hosts: hosts}
	if err := st.SaveFleet(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"flush", "--yes"}}, hosts, servers
}

// TestServiceFlushPlan reads the flush of an environment's cache hosts
// from the inventory, all of them or those named, and refuses a role no
// host has and names the inventory lacks.
func TestServiceFlushPlan(t *testing.T) {
	cachetest.RequireMemcached(t)
	e := remotetest.Start(t, 2, sshtest.WithNames("c1", "c2"))
	svc, _, servers := flushService(t, e)
	ctx := context.Background()
	req, err := svc.FlushPlan(ctx, FlushQuery{Env: "staging"})
	if err != nil || req.Env != "staging" || len(req.Hosts) != 2 || len(req.Specs) != 2 {
		t.Fatalf("FlushPlan: %+v, %v", req, err)
	}
	for _, s := range req.Specs {
		if want := "memcached " + servers[s.Host].Address(); s.Server() != want {
			t.Errorf("%s flushes %s, want %s", s.Host, s.Server(), want)
		}
	}
	req, err = svc.FlushPlan(ctx, FlushQuery{Env: "staging", Names: []string{"c2"}})
	if err != nil || len(req.Hosts) != 1 || req.Hosts[0].Name != "c2" || len(req.Specs) != 1 || req.Specs[0].Host != "c2" {
		t.Errorf("FlushPlan of c2: %+v, %v", req, err)
	}
	if _, err := svc.FlushPlan(ctx, FlushQuery{Env: "staging", Role: "db"}); err == nil || err.Error() != "no host of staging has the role db (see opsui inventory list)" {
		t.Errorf("FlushPlan of a role no host has: %v", err)
	}
	var ue *UnknownNameError
	if _, err := svc.FlushPlan(ctx, FlushQuery{Env: "production"}); !errors.As(err, &ue) || ue.Kind != "environment" {
		t.Errorf("FlushPlan of an unknown environment: %v", err)
	}
	if _, err := svc.FlushPlan(ctx, FlushQuery{Names: []string{"c9"}}); !errors.As(err, &ue) || ue.Kind != "host" {
		t.Errorf("FlushPlan of an unknown host: %v", err)
	}
}

// TestServiceFlushRecordsItsRun flushes real memcached servers through
// real sshd hosts, as FlushPlan planned it, and finds the run recorded: a
// flush run of the environment, whose command says what each host
// flushed.
func TestServiceFlushRecordsItsRun(t *testing.T) {
	cachetest.RequireMemcached(t)
	e := remotetest.Start(t, 2, sshtest.WithNames("c1", "c2"))
	svc, _, servers := flushService(t, e)
	for _, srv := range servers {
		srv.Set(0, "k1", "k2")
	}
	ctx := context.Background()
	req, err := svc.FlushPlan(ctx, FlushQuery{Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	log := remotetest.NewLog()
	rep, rec, err := svc.Flush(ctx, req, log.Emit)
	if err != nil || rec == nil || len(rep.Hosts) != 2 || len(rep.Failed()) != 0 || rep.Run.OK != 2 {
		t.Fatalf("Flush: %+v, %v", rep, err)
	}
	for n, srv := range servers {
		if left := srv.Has(0, "k1", "k2"); len(left) != 0 {
			t.Errorf("%s still holds %v", n, left)
		}
	}
	if out := log.Text("c1", remote.EventStdout); !strings.Contains(out, "## after") {
		t.Errorf("events passed on, c1:\n%s", out)
	}
	run, err := svc.Store.Run(ctx, rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("flush c1: memcached %s; c2: memcached %s", servers["c1"].Address(), servers["c2"].Address())
	if run.Kind != store.KindFlush || run.Env != "staging" || run.Command != want || run.Operator != "alice" ||
		run.Args != `["flush","--yes"]` || run.Result != store.RunOK || run.FinishedAt == 0 {
		t.Errorf("recorded run %+v, want command %q", run, want)
	}
	rows, err := svc.Store.RunHosts(ctx, run.ID)
	if err != nil || len(rows) != 2 || rows[0].Status != store.HostOK || rows[1].Status != store.HostOK || rows[0].OutputBytes == 0 {
		t.Errorf("run hosts %+v, %v", rows, err)
	}
}

// TestServiceFlushRefusesBeforeRecording: what cache.Flush would refuse (a
// host without a spec, invalid options) is an *InvalidError in its words,
// and nothing is recorded or flushed.
func TestServiceFlushRefusesBeforeRecording(t *testing.T) {
	cachetest.RequireMemcached(t)
	e := remotetest.Start(t, 2, sshtest.WithNames("c1", "c2"))
	svc, hosts, servers := flushService(t, e)
	servers["c1"].Set(0, "keep")
	specs, err := cache.Plan(&inventory.Fleet{Hosts: hosts}, hosts, cache.DefaultRole, func(string) string { return "" })
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
		_, rec, err := svc.Flush(context.Background(), c.req, nil)
		var ie *InvalidError
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
