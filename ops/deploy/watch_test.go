package deploy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// watchViews are the notes project's views once it has a list of items
// and an old endpoint that has failed for ever (the baseline's known
// error); %s is the items view's body.
const watchViews = `import os
from pathlib import Path

from django.conf import settings
from django.http import HttpResponse

from notes.models import Note

RELEASE = Path(settings.BASE_DIR).name


def health(request):
    return HttpResponse(
        "ok release=%%s notes=%%d pid=%%d\n" %% (RELEASE, Note.for_health(), os.getpid()),
        content_type="text/plain",
    )


def legacy(request):
    raise ValueError("the legacy endpoint is gone")


def items(request):
%s
`

// watchSettingsTail sends django.request's errors, tracebacks included,
// to shared/logs/app.log, as sites configure LOGGING; %s is deploy_to.
const watchSettingsTail = `
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%%(asctime)s %%(levelname)s %%(name)s: %%(message)s"}},
    "handlers": {"file": {"class": "logging.handlers.WatchedFileHandler", "filename": "%[1]s/shared/logs/app.log", "formatter": "plain"}},
    "loggers": {"django.request": {"handlers": ["file"], "level": "ERROR", "propagate": False}},
}
`

// watchProject adds to the notes project a release that logs as a site
// does (gunicorn's access log, Django's errors), then one whose /items/
// raises a new exception, then a clean one. It returns their commits.
func watchProject(t *testing.T, tb *testbed, proj *webtest.DjangoProject) (base, bad, clean string) {
	t.Helper()
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"-C", proj.Dir, "-c", "user.email=dev@notes.invalid", "-c", "user.name=Notes Dev"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	commit := func(msg string, files map[string]string) string {
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(proj.Dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		git("add", "-A")
		git("commit", "-q", "-m", msg)
		return git("rev-parse", "HEAD")
	}
	settings, err := os.ReadFile(filepath.Join(proj.Dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	urls := `from django.urls import path

from notes import views

urlpatterns = [
    path("health/", views.health),
    path("items/", views.items),
    path("legacy/", views.legacy),
]
`
	gunicornConf := fmt.Sprintf("accesslog = %q\n", tb.deployTo+"/shared/logs/access.log")
	base = commit("log requests and errors", map[string]string{
		"mysite/settings.py": string(settings) + fmt.Sprintf(watchSettingsTail, tb.deployTo),
		"mysite/urls.py":     urls,
		"gunicorn.conf.py":   gunicornConf,
		"notes/views.py":     fmt.Sprintf(watchViews, `    return HttpResponse("items release=%s\n" % RELEASE, content_type="text/plain")`),
	})
	bad = commit("items: show each item's owner", map[string]string{
		"notes/views.py": fmt.Sprintf(watchViews, `    owners = {}
    return HttpResponse("items release=%s owner=%s\n" % (RELEASE, owners["alice"]), content_type="text/plain")`),
	})
	git("revert", "--no-edit", "HEAD")
	clean = commit("items: say which release", map[string]string{
		"notes/views.py": fmt.Sprintf(watchViews, `    return HttpResponse("items release=%s ok\n" % RELEASE, content_type="text/plain")`),
	})
	return base, bad, clean
}

// TestWatchTripsOnANewErrorAndRollsBack deploys, under load through nginx,
// a release whose /items/ raises a KeyError the site never logged before,
// batch by batch: the watch trips on the first batch, names the
// exception with sample lines, and the first host is switched back; the
// hosts of the later batches are never switched and an nginx in front of
// them alone answers every request. An endpoint that failed before the
// deploy (a known error in the baseline) does not trip it. A clean
// release then passes the watch on every batch, and the record says so.
func TestWatchTripsOnANewErrorAndRollsBack(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 3)
	ctx := context.Background()
	base, bad, clean := watchProject(t, tb, proj)
	d := inventory.Duration(6 * time.Second)
	margin := 10.0
	tb.app.Watch = &inventory.Watch{Duration: &d, Baseline: inventory.Duration(4 * time.Second), Margin: &margin}
	tb.inv.Apps[0] = tb.app
	tb.inv.Roles = map[string]inventory.RoleSettings{"web": {Logs: []string{tb.deployTo + "/shared/logs/access.log", tb.deployTo + "/shared/logs/app.log"}}}

	off := time.Duration(0)
	p := tb.plan(base, Strategy{Kind: "all", AutoRollback: true})
	p.Watch = &off
	first, err := tb.deployer().Deploy(ctx, p)
	if err != nil || first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %v %v", err, first.Result)
	}

	var all, later []string
	for i, h := range tb.fleet.Hosts {
		all = append(all, net.JoinHostPort(h.Addr, "8000"))
		if i > 0 {
			later = append(later, net.JoinHostPort(h.Addr, "8000"))
		}
	}
	lbAll := webtest.StartNginx(t, "127.0.0.1:0", all)
	lbLater := webtest.StartNginx(t, "127.0.0.1:0", later)
	loadAll := webtest.StartLoad(ctx, lbAll.URL("/items/"), 4, webtest.WithHost(webtest.DjangoSiteHost))
	loadLater := webtest.StartLoad(ctx, lbLater.URL("/items/"), 2, webtest.WithHost(webtest.DjangoSiteHost))
	stopLegacy := legacyErrors(t, lbAll.URL("/legacy/"))

	var mu sync.Mutex
	var statuses []WatchStatus
	dep := tb.deployer()
	dep.OnWatch = func(s WatchStatus) {
		mu.Lock()
		statuses = append(statuses, s)
		mu.Unlock()
	}
	out, err := dep.Deploy(ctx, tb.plan(bad, Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true}))
	stopLegacy()
	resLater := loadLater.Stop()
	resAll := loadAll.Stop()
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(out.Notes, "\n")
	t.Logf("notes:\n%s\nthrough nginx (all): %s\nthrough nginx (later batches): %s", notes, resAll, resLater)
	if out.Result != store.ReleaseRolledBack {
		tb.logf(out)
		t.Fatalf("the bad release ended %s, want %s", out.Result, store.ReleaseRolledBack)
	}
	if !strings.Contains(notes, "regression watch TRIPPED on batch 1/3") || !strings.Contains(notes, `KeyError: 'alice'`) {
		t.Errorf("the notes do not say the watch tripped on batch 1/3 on the KeyError:\n%s", notes)
	}
	if !strings.Contains(notes, "regression watch: sample: "+tb.fleet.Hosts[0].Name+": ") {
		t.Errorf("the notes quote no sample line:\n%s", notes)
	}
	if strings.Contains(notes, "legacy endpoint") && strings.Contains(notes, "TRIPPED") && strings.Contains(notes, "ValueError") {
		t.Errorf("the known error of the baseline is named as a regression:\n%s", notes)
	}
	for i := range tb.fleet.Hosts {
		if rel, rev := tb.current(i); rel != first.ReleaseID || rev != base {
			t.Errorf("%s serves %s (%s) after the rollback, want %s", tb.fleet.Hosts[i].Name, rel, rev, first.ReleaseID)
		}
	}
	st := tb.statuses(out)
	if h0 := tb.fleet.Hosts[0].Name; st[h0] != HostRolledBack {
		t.Errorf("%s: %s, want rolled back", h0, st[h0])
	}
	for _, h := range tb.fleet.Hosts[1:] {
		if st[h.Name] != HostSkipped {
			t.Errorf("%s: %s, want not reached (its batch never started)", h.Name, st[h.Name])
		}
	}
	if resLater.Failed != 0 || resLater.Total == 0 {
		t.Errorf("through nginx on the later batches' hosts: %s, want no failed request", resLater)
	}
	if resAll.ByStatus[500] == 0 {
		t.Errorf("no request failed on the first batch's host: the test did not exercise the watch (%s)", resAll)
	}
	run, err := tb.st.Run(ctx, out.RunID)
	if err != nil || !strings.Contains(run.Summary, "regression watch TRIPPED on batch 1/3") {
		t.Errorf("the run's record does not say the watch tripped (%v):\n%s", err, run.Summary)
	}
	mu.Lock()
	var sawLive bool
	for _, s := range statuses {
		if s.Phase == WatchWatching && s.Batch == 1 && s.Batches == 3 && strings.HasPrefix(s.String(), "watching batch 1/3: ") {
			sawLive = true
		}
	}
	if last := statuses[len(statuses)-1]; last.Phase != WatchTripped {
		t.Errorf("the last watch status is %q, want tripped", last.Phase)
	}
	mu.Unlock()
	if !sawLive {
		t.Errorf("no live status of batch 1/3 was sent: %v", statuses)
	}
	// The release record says it typed, and the KeyError is tied to it;
	// the legacy endpoint's error to the release before (the baseline).
	for _, s := range checkWatchRecord(t, tb, out.ReleaseID, store.WatchTripped, "KeyError: 'alice'") {
		if s.FirstHost != tb.fleet.Hosts[0].Name || strings.Contains(s.Summary, "legacy") {
			t.Errorf("the bad release brought %q on %s: only the first batch's host's errors are new", s.Summary, s.FirstHost)
		}
	}
	checkWatchRecord(t, tb, first.ReleaseID, store.WatchSkipped, "legacy endpoint is gone")

	// The clean release, with the legacy endpoint still failing as before.
	loadAll = webtest.StartLoad(ctx, lbAll.URL("/items/"), 4, webtest.WithHost(webtest.DjangoSiteHost))
	stopLegacy = legacyErrors(t, lbAll.URL("/legacy/"))
	good := tb.deploy(clean, Strategy{Kind: "rolling", Batches: Batches{{N: 2}}, AutoRollback: true})
	stopLegacy()
	res := loadAll.Stop()
	notes = strings.Join(good.Notes, "\n")
	t.Logf("notes:\n%s\nthrough nginx: %s", notes, res)
	if good.Result != store.ReleaseSuccess {
		tb.logf(good)
		t.Fatalf("the clean release ended %s", good.Result)
	}
	for _, b := range []string{"batch 1/2", "batch 2/2"} {
		if !strings.Contains(notes, "regression watch: "+b+" passed after 6s: ") {
			t.Errorf("the notes do not say %s passed the watch:\n%s", b, notes)
		}
	}
	if strings.Contains(notes, "TRIPPED") || strings.Contains(notes, "NOT VERIFIED") {
		t.Errorf("the clean release was not passed cleanly:\n%s", notes)
	}
	checkWatchRecord(t, tb, good.ReleaseID, store.WatchPassed) // and no new error
	run, err = tb.st.Run(ctx, good.RunID)
	if err != nil || !strings.Contains(run.Summary, "regression watch: batch 2/2 passed") {
		t.Errorf("the run's record does not say the watch passed (%v):\n%s", err, run.Summary)
	}
}

// legacyErrors requests url about ten times a second, an endpoint that
// always fails, until the returned function is called.
func legacyErrors(t *testing.T, url string) func() {
	t.Helper()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Host = webtest.DjangoSiteHost
			if resp, err := c.Do(req); err == nil {
				resp.Body.Close()
			}
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(stop); <-done }) }
}
