package deploy

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/store"
)

// TestRestartThroughBalancerDropsNoRequest: two web hosts serve the demo
// shop with gunicorn behind a real nginx on lb1 that neither retries
// another backend nor forgives a failure, with requests flowing through
// it the whole time: a rolling restart drains each host alone, restarts
// its master (a new pid), checks it and puts it back, and no request
// fails; the balancer ends with every backend in rotation.
func TestRestartThroughBalancerDropsNoRequest(t *testing.T) {
	cb, addr, upstream := newBalancedBed(t)
	tb := cb.testbed
	p := cb.plan("env", Strategy{Kind: "all", AutoRollback: true})
	p.Fleet.Hosts = p.Hosts
	p, err := NewPlan(p.Fleet, p.App, p.Env, SelectHosts(p.Fleet, "test", HostSelection{}), p.Source, p.ReleaseID, p.Strategy)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cb.deployer().Deploy(context.Background(), p)
	if err != nil || first.Result != store.ReleaseSuccess {
		cb.logf(first)
		t.Fatalf("deploy: %v", err)
	}
	masters := []string{}
	for i := range 2 {
		pid, _ := tb.masterOf(i)
		masters = append(masters, pid)
	}

	load := webtest.StartLoad(context.Background(), "http://"+addr+"/health/", 6)
	time.Sleep(300 * time.Millisecond)
	out, err := tb.restart(Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}})
	time.Sleep(300 * time.Millisecond)
	res := load.Stop()
	t.Logf("load through nginx during the restart: %s", res)
	if err != nil || out.Result != store.ReleaseSuccess {
		if out != nil {
			cb.logf(out)
		}
		t.Fatalf("restart: %v", err)
	}
	if res.Failed != 0 || res.Total < 50 {
		t.Errorf("%d of %d requests through nginx failed during the restart (%v)", res.Failed, res.Total, res.Errors)
	}
	notes := strings.Join(out.Notes, "\n")
	for i, h := range []string{"web1", "web2"} {
		if !strings.Contains(notes, "balancer lb1: drained "+h+" (down now: "+h+")") {
			t.Errorf("%s was not drained alone before its restart:\n%s", h, notes)
		}
		if pid, _ := tb.masterOf(i); pid == masters[i] {
			t.Errorf("%s: master %s was not restarted", h, pid)
		}
	}
	if data, _ := os.ReadFile(upstream); strings.Contains(string(data), " down") {
		t.Errorf("nginx keeps a backend out after the restart:\n%s", data)
	}
}
