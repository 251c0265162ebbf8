package deploy

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/store"
)

// setWebOption sets option key of the web role on every host for which
// pick is true.
func (tb *testbed) setWebOption(pick func(i int) bool, key, value string) {
	for i := range tb.inv.Hosts {
		if !pick(i) {
			continue
		}
		web := tb.inv.Hosts[i].Settings["web"]
		opts := map[string]string{}
		for k, v := range web.Options {
			opts[k] = v
		}
		opts[key] = value
		web.Options = opts
		tb.inv.Hosts[i].Settings["web"] = web
	}
}

// masterOf returns host i's gunicorn master pid, and the number of its
// child processes (its workers).
func (tb *testbed) masterOf(i int) (pid string, workers string) {
	out := tb.sh(i, `pid=$(cat `+tb.deployTo+`/shared/gunicorn.pid); n=0
for p in /proc/[0-9]*; do set -- $(cat $p/stat 2>/dev/null); [ "${4-}" = "$pid" ] && n=$((n+1)); done; echo "$pid $n"`)
	pid, workers, _ = strings.Cut(out, " ")
	return pid, workers
}

// saidLines returns every output line of the deploys so far that
// contains s.
func (tb *testbed) saidLines(s string) []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var out []string
	for _, ev := range tb.events {
		if strings.Contains(ev.Line, s) {
			out = append(out, ev.Host+": "+ev.Line)
		}
	}
	return out
}

// TestDjangoReexecOnChangedCommand: a deploy that changes the master's
// command line (the WSGI module) re-executes each master gracefully under
// load, directly on each host and through nginx, with no failed request;
// the output says why and names both masters. A changed bind is applied
// by a re-exec too (the new address answers, the old one no longer); a
// bind the new master cannot take fails the host with the reason and
// leaves the old master serving.
func TestDjangoReexecOnChangedCommand(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	_, masters, loads := deployUnderLoad(t, tb, proj)

	tb.setWebOption(func(int) bool { return true }, "wsgi", webtest.DjangoWSGI+":application")
	second := tb.deployTolerated(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	time.Sleep(300 * time.Millisecond)
	for i, l := range loads {
		res := l.Stop()
		t.Logf("load %d during the re-exec: %s", i, res)
		if res.Failed != 0 || res.Total < 20 {
			t.Errorf("load %d: %d of %d requests failed while the masters were re-executed (%v)", i, res.Failed, res.Total, res.Errors)
		}
	}
	if second.Result != store.ReleaseSuccess {
		tb.logf(second)
		t.Fatalf("deploy with another WSGI module: %s", second.Result)
	}
	for i, h := range tb.fleet.Hosts {
		pid, workers := tb.masterOf(i)
		if pid == masters[i] {
			t.Errorf("%s: master %s was not replaced: a changed command line needs a re-exec", h.Name, pid)
		}
		if workers != "2" {
			t.Errorf("%s: the new master %s runs %s workers, want 2", h.Name, pid, workers)
		}
		want := h.Name + ": server command changed (" + webtest.DjangoWSGI + " -> " + webtest.DjangoWSGI + ":application): re-exec, old master " + masters[i] + " -> new " + pid
		if got := tb.saidLines("re-exec, old master"); !containsPrefix(got, want) {
			t.Errorf("the deploy's output does not say %q:\n%s", want, strings.Join(got, "\n"))
		}
		if rec := tb.sh(i, "cat "+tb.deployTo+"/shared/gunicorn.master"); !strings.HasPrefix(rec, "pid "+pid+"\n") {
			t.Errorf("%s: gunicorn.master says %q, want the new master %s", h.Name, rec, pid)
		}
		body := tb.sh(i, "curl -s -H 'Host: www.notes.test' http://"+net.JoinHostPort(h.Addr, "8000")+"/health/")
		if !strings.Contains(body, "release="+second.ReleaseID) {
			t.Errorf("%s answers %q, want release %s", h.Name, body, second.ReleaseID)
		}
		masters[i] = pid
	}

	// The same command line again: a HUP, the same master.
	third := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "all", AutoRollback: true})
	if third.Result != store.ReleaseSuccess {
		tb.logf(third)
		t.Fatalf("deploy with the same command line: %s", third.Result)
	}
	for i, h := range tb.fleet.Hosts {
		if pid, _ := tb.masterOf(i); pid != masters[i] {
			t.Errorf("%s: master %s replaced by %s although nothing on its command line changed", h.Name, masters[i], pid)
		}
	}

	// A master an older opsui started (no gunicorn.master, another
	// command line) gets a HUP first, so it reads the hook, then the
	// re-exec.
	tb.sh(0, "rm "+tb.deployTo+"/shared/gunicorn.master; echo an-older-command > "+tb.deployTo+"/shared/gunicorn.cmd")
	legacy := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "all", AutoRollback: true})
	if legacy.Result != store.ReleaseSuccess {
		tb.logf(legacy)
		t.Fatalf("deploy over a master an older opsui started: %s", legacy.Result)
	}
	if pid, workers := tb.masterOf(0); pid == masters[0] || workers != "2" {
		t.Errorf("%s: the older master %s -> %s with %s workers, want a new one with 2", tb.fleet.Hosts[0].Name, masters[0], pid, workers)
	} else {
		masters[0] = pid
	}

	// Host 1 moves to port 8001: a re-exec binds it, the old port closes.
	h1 := tb.fleet.Hosts[1]
	tb.setWebOption(func(i int) bool { return i == 1 }, "bind", net.JoinHostPort(h1.Addr, "8001"))
	web := tb.inv.Hosts[1].Settings["web"]
	web.HealthURL = "http://" + net.JoinHostPort(h1.Addr, "8001") + "/health/"
	tb.inv.Hosts[1].Settings["web"] = web
	fourth := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "all", AutoRollback: true})
	if fourth.Result != store.ReleaseSuccess {
		tb.logf(fourth)
		t.Log(tb.sh(1, "tail -n 40 "+tb.deployTo+"/shared/logs/gunicorn.log"))
		t.Fatalf("deploy with a new bind on %s: %s", h1.Name, fourth.Result)
	}
	if pid, _ := tb.masterOf(1); pid == masters[1] {
		t.Errorf("%s: a changed bind kept master %s", h1.Name, pid)
	}
	codes := tb.sh(1, "curl -s -o /dev/null -w '%{http_code} ' -H 'Host: www.notes.test' http://"+net.JoinHostPort(h1.Addr, "8001")+"/health/; curl -s -o /dev/null -w '%{http_code}' http://"+net.JoinHostPort(h1.Addr, "8000")+"/health/; true")
	if codes != "200 000" {
		t.Errorf("%s after the bind change: the new port and the old one answer %q, want \"200 000\"", h1.Name, codes)
	}
	if got := tb.saidLines("bind " + net.JoinHostPort(h1.Addr, "8000") + " -> " + net.JoinHostPort(h1.Addr, "8001")); len(got) == 0 {
		t.Errorf("the deploy's output does not name the bind change")
	}

	// Host 0 gets an address that is not on the machine: its new master
	// cannot bind, the old one keeps serving, the host fails saying why.
	tb.setWebOption(func(i int) bool { return i == 0 }, "bind", "10.255.255.1:8000")
	fifth := tb.deploy(proj.Hashes[webtest.DjangoAddTag], Strategy{Kind: "all", AutoRollback: true})
	if fifth.Result == store.ReleaseSuccess {
		t.Fatalf("a deploy whose new master cannot bind succeeded")
	}
	h0 := tb.fleet.Hosts[0]
	var failed *HostOutcome
	for i := range fifth.Hosts {
		if fifth.Hosts[i].Host == h0.Name {
			failed = &fifth.Hosts[i]
		}
	}
	if failed == nil || failed.Status == HostOK || failed.Err == nil ||
		!strings.Contains(failed.Err.Error(), "cannot bind 10.255.255.1:8000") || !strings.Contains(failed.Err.Error(), "old master "+masters[0]+" still serves") {
		tb.logf(fifth)
		t.Fatalf("%s: the failure does not name the bind and the old master: %+v", h0.Name, failed)
	}
	if pid, _ := tb.masterOf(0); pid != masters[0] {
		t.Errorf("%s: the old master %s is gone (pidfile says %s)", h0.Name, masters[0], pid)
	}
	testenv.WaitFor(t, 30*time.Second, h0.Name+" still serving", func() bool {
		return tb.sh(0, "curl -s -o /dev/null -w '%{http_code}' -H 'Host: www.notes.test' http://"+net.JoinHostPort(h0.Addr, "8000")+"/health/; true") == "200"
	})
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// deployUnderLoad deploys the Django project's first commit to every host
// of tb, then puts load on each host's gunicorn directly and on a real
// nginx in front of them: it returns the deploy, each host's master pid
// and the loads.
func deployUnderLoad(t *testing.T, tb *testbed, proj *webtest.DjangoProject) (first *Outcome, masters map[int]string, loads []*webtest.Load) {
	t.Helper()
	ctx := context.Background()
	first = tb.deploy(proj.Hashes[webtest.DjangoInitial], Strategy{Kind: "all", AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	masters = map[int]string{}
	var backends []string
	for i, h := range tb.fleet.Hosts {
		masters[i], _ = tb.masterOf(i)
		addr := net.JoinHostPort(h.Addr, "8000")
		backends = append(backends, addr)
		loads = append(loads, webtest.StartLoad(ctx, "http://"+addr+webtest.DjangoHealthPath, 4, webtest.WithHost(webtest.DjangoSiteHost)))
	}
	lb := webtest.StartNginx(t, "127.0.0.1:0", backends)
	loads = append(loads, webtest.StartLoad(ctx, lb.URL(webtest.DjangoHealthPath), 8, webtest.WithHost(webtest.DjangoSiteHost)))
	time.Sleep(300 * time.Millisecond)
	return first, masters, loads
}
