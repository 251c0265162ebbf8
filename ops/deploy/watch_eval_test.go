package deploy

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
)

// evalWatcher is a watcher fed by hand: its baseline from base, then a
// window of hosts.
func evalWatcher(cfg inventory.WatchSettings, base []logs.Line, hosts ...string) *watcher {
	w := &watcher{cfg: cfg, batches: 3, base: newTally([]string{"web1", "web2", "web3"})}
	for _, l := range base {
		w.add(l)
	}
	w.winAt = time.Now()
	w.win = newTally(hosts)
	return w
}

func line(host, file, text string) logs.Line {
	return logs.Line{Host: host, File: file, Text: text, Kind: logs.KindLine, Level: logs.DetectLevel(text), Time: time.Now()}
}

func access(host string, status int, path string) logs.Line {
	return line(host, "access.log", fmt.Sprintf(`127.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "GET %s HTTP/1.0" %d 12 "-" "load"`, path, status))
}

func traceback(host, exc string) []logs.Line {
	return []logs.Line{
		line(host, "app.log", "2026-12-05 02:00:00,123 ERROR django.request: Internal Server Error: /items/"),
		line(host, "app.log", "Traceback (most recent call last):"),
		line(host, "app.log", `  File "/srv/app/current/notes/views.py", line 25, in items`),
		line(host, "app.log", `    return owners["alice"]`),
		line(host, "app.log", `           ~~~~~~^^^^^^^^^`),
		line(host, "app.log", exc),
	}
}

// TestWatchVerdicts: what trips the watch and what does not. A known
// error of the baseline never does; a new one once does not, twice does,
// named by its exception and frame with sample lines (the traceback, not
// the log line before it); 5xx answers count for the rate only, judged
// at the window's end against the baseline's with the margin; lines of
// hosts not watched do not count.
func TestWatchVerdicts(t *testing.T) {
	cfg := inventory.WatchSettings{Duration: time.Minute, Baseline: time.Minute, Margin: 5, Repeats: 2}
	var base []logs.Line
	for i := range 100 {
		status := 200
		if i%50 == 0 {
			status = 500 // 2% in the baseline
		}
		base = append(base, access("web2", status, "/legacy/"))
	}
	base = append(base, traceback("web2", "ValueError: the legacy endpoint is gone")...)
	base = append(base, line("web2", "app.log", "2026-12-05 02:00:00,500 INFO done")) // ends the traceback

	t.Run("known error", func(t *testing.T) {
		w := evalWatcher(cfg, base, "web1")
		for range 5 {
			for _, l := range traceback("web1", "ValueError: the legacy endpoint is gone") {
				w.add(l)
			}
		}
		w.win.agg.Flush()
		if trip, n := w.evaluate(w.win, true); trip != nil || n != 0 {
			t.Errorf("a known error tripped the watch (%d new): %+v", n, trip)
		}
	})

	t.Run("new error", func(t *testing.T) {
		w := evalWatcher(cfg, base, "web1")
		for _, l := range traceback("web1", "KeyError: 'alice'") {
			w.add(l)
		}
		w.win.agg.Flush()
		if trip, _ := w.evaluate(w.win, true); trip != nil {
			t.Errorf("a new error seen once tripped the watch: %+v", trip)
		}
		for _, l := range traceback("web1", "KeyError: 'alice'") {
			w.add(l)
		}
		w.win.agg.Flush()
		trip, n := w.evaluate(w.win, false)
		if trip == nil {
			t.Fatal("a new error seen twice did not trip the watch")
		}
		want := `new error KeyError: 'alice' (File "/srv/app/current/notes/views.py", line 25, in items), 2 times on web1, never in the baseline`
		if trip.why != want || n != 2 {
			// The log line before each traceback is the baseline's too.
			t.Errorf("trip %q (%d new), want %q (2 new)", trip.why, n, want)
		}
		wantSamples := []string{"web1: Traceback (most recent call last):", `web1:   File "/srv/app/current/notes/views.py", line 25, in items`,
			`web1:     return owners["alice"]`, "web1: KeyError: 'alice'"}
		if strings.Join(trip.samples, "\n") != strings.Join(wantSamples, "\n") {
			t.Errorf("samples:\n%s\nwant:\n%s", strings.Join(trip.samples, "\n"), strings.Join(wantSamples, "\n"))
		}
	})

	t.Run("5xx rate", func(t *testing.T) {
		w := evalWatcher(cfg, base, "web1")
		for i := range 100 {
			status := 200
			if i%20 == 0 {
				status = 502 // 5%: 3 points above the baseline, inside the margin of 5
			}
			w.add(access("web1", status, "/items/"))
		}
		if trip, n := w.evaluate(w.win, true); trip != nil || n != 0 {
			t.Errorf("a 5xx rate inside the margin tripped the watch (%d new errors): %+v", n, trip)
		}
		for range 10 {
			w.add(access("web1", 500, "/items/"))
		}
		if trip, _ := w.evaluate(w.win, false); trip != nil {
			t.Errorf("the rate was judged before the window's end: %+v", trip)
		}
		trip, _ := w.evaluate(w.win, true)
		want := "5xx rate 13.6% (15 of 110 requests) against 2.0% in the baseline, more than 5 points above it"
		if trip == nil || trip.why != want {
			t.Fatalf("trip %+v, want %q", trip, want)
		}
		if len(trip.samples) != maxWatchSamples || !strings.HasPrefix(trip.samples[0], `web1: 127.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "GET /items/ HTTP/1.0" 502`) {
			t.Errorf("samples: %q", trip.samples)
		}
	})

	t.Run("hosts not watched", func(t *testing.T) {
		w := evalWatcher(cfg, base, "web1")
		for range 3 {
			for _, l := range traceback("web3", "KeyError: 'bob'") {
				w.add(l)
			}
			w.add(access("web3", 500, "/items/"))
		}
		w.win.agg.Flush()
		if trip, n := w.evaluate(w.win, true); trip != nil || n != 0 || w.win.requests != 0 {
			t.Errorf("a host outside the window counted: %+v, %d new, %d requests", trip, n, w.win.requests)
		}
	})

	t.Run("a host whose follow drops", func(t *testing.T) {
		w := evalWatcher(cfg, base, "web1")
		w.add(logs.Line{Host: "web1", File: "app.log", Kind: logs.KindDropped, Text: "connection lost (EOF); retrying in 1s"})
		if got := w.win.unreadable(); len(got) != 1 || got[0] != "web1: app.log: connection lost (EOF); retrying in 1s" {
			t.Errorf("unreadable: %q", got)
		}
	})
}

// TestWatchSettings: the app's watch: resolved for an environment, and
// the operator's --watch over it.
func TestWatchSettings(t *testing.T) {
	d := inventory.Duration(20 * time.Second)
	m := 0.5
	app := inventory.App{Name: "shop", Watch: &inventory.Watch{Duration: &d, Margin: &m, Environments: map[string]inventory.Duration{"dev": 0}}}
	for _, c := range []struct {
		env   string
		flag  *time.Duration
		want  inventory.WatchSettings
		watch bool
	}{
		{"prod", nil, inventory.WatchSettings{Duration: 20 * time.Second, Baseline: 20 * time.Second, Margin: 0.5, Repeats: 2}, true},
		{"dev", nil, inventory.WatchSettings{Margin: 0.5, Repeats: 2}, false},
		{"dev", ptr(5 * time.Second), inventory.WatchSettings{Duration: 5 * time.Second, Baseline: 5 * time.Second, Margin: 0.5, Repeats: 2}, true},
		{"prod", ptr(time.Duration(0)), inventory.WatchSettings{Margin: 0.5, Repeats: 2}, false},
	} {
		p := &Plan{App: app, Env: inventory.Environment{Name: c.env}, Watch: c.flag}
		if got := p.watchSettings(); got != c.want || got.On() != c.watch {
			t.Errorf("%s, --watch %v: %+v, want %+v", c.env, c.flag, got, c.want)
		}
	}
	p := &Plan{App: inventory.App{Name: "plain"}, Env: inventory.Environment{Name: "prod"}}
	if p.watchSettings().On() {
		t.Error("an app without watch: is watched")
	}
	p.Watch = ptr(time.Minute)
	if got := p.watchSettings(); got.Duration != time.Minute || got.Margin != inventory.DefaultWatchMargin || got.Repeats != inventory.DefaultWatchRepeats {
		t.Errorf("--watch 1m on an app without watch: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

// TestDryRunShowsTheWatch: the plan names the watch's settings and the
// logs it reads on each web host, and the hosts it cannot watch.
func TestDryRunShowsTheWatch(t *testing.T) {
	d := inventory.Duration(30 * time.Second)
	f := &inventory.Fleet{Roles: map[string]inventory.RoleSettings{"web": {Logs: []string{"/srv/shop/shared/logs/access.log"}}}}
	web1 := inventory.Host{Name: "web1", Roles: []string{"web"}}
	web2 := inventory.Host{Name: "web2", Roles: []string{"web"}, Settings: map[string]inventory.RoleSettings{"web": {Logs: []string{"/var/log/app.log"}}}}
	db1 := inventory.Host{Name: "db1", Roles: []string{"db"}}
	f.Hosts = []inventory.Host{web1, web2, db1}
	p := &Plan{Fleet: f, App: inventory.App{Name: "shop", Watch: &inventory.Watch{Duration: &d}}, Env: inventory.Environment{Name: "production"},
		Hosts: f.Hosts}
	var b strings.Builder
	p.describeWatch(&b)
	want := `regression watch: 30s after each batch against a 30s baseline; trips on a 5xx rate more than 1 point above the baseline's or a new error seen 2 times
  web1: /srv/shop/shared/logs/access.log
  web2: /var/log/app.log
`
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	f.Roles = nil
	off := time.Duration(0)
	b.Reset()
	p.describeWatch(&b)
	if !strings.Contains(b.String(), "  not watched (no logs: in the web role): web1\n") {
		t.Errorf("got:\n%s", b.String())
	}
	p.Watch = &off
	b.Reset()
	p.describeWatch(&b)
	if b.String() != "regression watch: off for production\n" {
		t.Errorf("--watch 0: %q", b.String())
	}
}
