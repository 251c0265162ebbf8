package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// statusFleet is one environment with three web hosts and a database.
func statusFleet() *inventory.Fleet {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod"}}}
	for _, n := range []string{"web1", "web2", "web3"} {
		f.Hosts = append(f.Hosts, inventory.Host{Name: n, Address: "10.0.0.1", Env: "prod", Roles: []string{"web"}})
	}
	f.Hosts = append(f.Hosts, inventory.Host{Name: "db1", Address: "10.0.0.9", Env: "prod", Roles: []string{"db"}})
	return f
}

var t0 = time.Date(2025, 3, 4, 12, 0, 0, 0, time.Local)

func upProbe(host, release string) remote.Probe {
	return remote.Probe{Host: host, At: t0, Reachable: true, RTT: 3 * time.Millisecond, Load1: 0.25, MemUsedPct: 40,
		DiskUsedPct: 61, Release: release, Commit: "c0ffee" + release, ReleaseAge: 2 * time.Hour, Health: remote.HealthOK}
}

func downProbe(host string, class remote.ErrorClass, at time.Time) remote.Probe {
	return remote.Probe{Host: host, At: at, Class: class, Err: &remote.HostError{Host: host, Class: class, Err: errors.New("no answer within 5s")}}
}

// newStatusApp is a console on statusFleet whose probes come from the test
// (sent as fleetview.RoundMsg), at time t0.
func newStatusApp(t *testing.T, w, h int, opts Options) App {
	t.Helper()
	f := statusFleet()
	opts.Theme = themes.Dark().WithoutColor()
	opts.LoadFleet = func(context.Context) (*inventory.Fleet, error) { return f, nil }
	if opts.Probe == nil {
		opts.Probe = func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }
	}
	a := New(opts)
	a.status.SetClock(func() time.Time { return t0.Add(time.Second) })
	a = send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: w, Height: h})
	return a
}

func hostRow(t *testing.T, view, host string) string {
	t.Helper()
	for _, l := range strings.Split(view, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " >●"), host+" ") {
			return l
		}
	}
	t.Fatalf("no row for %s in:\n%s", host, view)
	return ""
}

func TestStatusRowsAndDrift(t *testing.T) {
	a := newStatusApp(t, 110, 20, Options{})
	if !strings.Contains(viewText(a), "…") {
		t.Errorf("hosts not probed yet are not marked:\n%s", viewText(a))
	}
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "20250301100000"), upProbe("web2", "20250301100000"), upProbe("web3", "20250220090000"),
		downProbe("db1", remote.ClassTimeout, t0),
	}})
	view := viewText(a)
	for _, want := range []string{"3 healthy · 0 failing · 1 down", "1 host drifts", "STATE", "RELEASE", "HEALTH"} {
		if !strings.Contains(view, want) {
			t.Errorf("view lacks %q:\n%s", want, view)
		}
	}
	web1 := hostRow(t, view, "web1")
	for _, want := range []string{" up ", "3ms", "0.25", "40%", "61%", "20250301100000", "2h", "ok"} {
		if !strings.Contains(web1, want) {
			t.Errorf("web1 row lacks %q: %q", want, web1)
		}
	}
	if strings.Contains(web1, "drift") {
		t.Errorf("web1 runs the majority release: %q", web1)
	}
	if web3 := hostRow(t, view, "web3"); !strings.Contains(web3, "20250220090000 drift") {
		t.Errorf("web3 runs another release and is not marked: %q", web3)
	}
	if db1 := hostRow(t, view, "db1"); !strings.Contains(db1, "down") || !strings.Contains(db1, "timeout since "+t0.Format("15:04:05")) {
		t.Errorf("db1 row: %q", db1)
	}
	// The outage keeps its start; the host's figures of its last good
	// probe are kept when it goes down.
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{downProbe("db1", remote.ClassUnreachable, t0.Add(5*time.Second))}})
	p, _ := a.status.Probe("db1")
	if !a.status.DownSince("db1").Equal(t0) || p.Class != remote.ClassUnreachable {
		t.Errorf("db1 after a second failure: down since %v, probe %+v", a.status.DownSince("db1"), p)
	}
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{downProbe("web2", remote.ClassConnLost, t0.Add(5*time.Second))}})
	if !strings.Contains(viewText(a), "2 hosts drift") && !strings.Contains(viewText(a), "1 host drifts") {
		t.Errorf("drift header after web2 went down:\n%s", viewText(a))
	}
}

func TestFilterMatchesStatusWords(t *testing.T) {
	a := newStatusApp(t, 110, 20, Options{})
	failed := upProbe("web2", "r1")
	failed.Health = remote.HealthFailed
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "r1"), failed, upProbe("web3", "r0"), downProbe("db1", remote.ClassUnreachable, t0),
	}})
	tests := map[string][]string{"drift": {"web3"}, "down": {"db1"}, "failed": {"web2", "db1"}, "up": {"web1", "web2", "web3"}}
	for word, want := range tests {
		b := send(t, a, keys("/")...)
		b = send(t, b, keys(strings.Split(word, "")...)...) // one letter at a time: "up" alone is the arrow key
		b = send(t, b, keys("enter")...)
		var got []string
		for _, h := range b.fleet.Shown() {
			got = append(got, h.Name)
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("filter %q shows %v, want %v", word, got, want)
		}
	}
}

func TestStatusRoundsNeverOverlapAndStaleResultsShowTheirAge(t *testing.T) {
	calls := 0
	a := newStatusApp(t, 110, 20, Options{Probe: func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe {
		calls++
		return []remote.Probe{upProbe("web1", "r1")}
	}})
	if !a.status.Busy() || a.status.Round() != 1 {
		t.Fatalf("loading the fleet did not start a round: %+v", a.status)
	}
	// A tick while the round is under way starts none.
	if cmd := a.status.StartRound(a.fleet.Fleet()); cmd != nil {
		t.Error("a second round started while the first runs")
	}
	a = send(t, a, fleetview.RoundMsg{Round: 1, Probes: []remote.Probe{upProbe("web1", "r1")}})
	if a.status.Busy() {
		t.Error("the round's result did not end it")
	}
	// Nothing new for an hour: the figures stay, marked stale with their age.
	a.status.SetClock(func() time.Time { return t0.Add(time.Hour) })
	web1 := hostRow(t, viewText(a), "web1")
	if !strings.Contains(web1, "stale 1h") || !strings.Contains(web1, "r1") {
		t.Errorf("stale row: %q", web1)
	}
}

func TestDetailShowsProbeAndLastRuns(t *testing.T) {
	a := newStatusApp(t, 130, 40, Options{LastRuns: func(_ context.Context, host string) ([]ops.HostRun, error) {
		return []ops.HostRun{{Run: ranAt(store.Run{ID: 7, Kind: "exec", Command: "uname -n", Result: "failed"}, t0, 0),
			Host: store.RunHost{Host: host, Status: "failed", ErrorClass: "timeout"}}}, nil
	}})
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{upProbe("web1", "r1"), upProbe("web2", "r1"), upProbe("web3", "r0")}})
	a = send(t, a, keys("j")...)
	next, cmd := a.Update(keys("j")[0]) // web3
	a = next.(App)
	if cmd == nil {
		t.Fatal("no fetch of the focused host's runs")
	}
	a = runCmds(t, a, cmd)
	view := viewText(a)
	for _, want := range []string{"status", "round trip", "c0ffeer0", "the rest of its group runs r1", "last runs", "#7", "failed: timeout", "uname -n"} {
		if !strings.Contains(view, want) {
			t.Errorf("detail lacks %q:\n%s", want, view)
		}
	}
}

// askAsync asks a through fn in a goroutine and returns the answer channel.
func askAsync[T any](fn func() (T, error)) chan T {
	ch := make(chan T, 1)
	go func() {
		v, _ := fn()
		ch <- v
	}()
	return ch
}

func TestHostKeyDialogDefaultsToNo(t *testing.T) {
	asker := newTestAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	prompt := remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:abcdefghijklmnop"}
	got := askAsync(func() (bool, error) { return asker.AcceptHostKey(context.Background(), prompt) })
	a = send(t, a, listenAsker(asker)())
	view := viewText(a)
	for _, want := range []string{"Unknown host key", "web1", "ssh-ed25519", "SHA256:abcdefghijklmnop", "refuse (default)"} {
		if !strings.Contains(view, want) {
			t.Errorf("dialog lacks %q:\n%s", want, view)
		}
	}
	a = send(t, a, keys("enter")...)
	if ok := <-got; ok {
		t.Fatal("Enter accepted the key")
	}
	if len(a.dialogs.queue) != 0 {
		t.Fatal("the dialog stayed")
	}
	// A refused key is not asked about again this session.
	if ok, err := asker.AcceptHostKey(context.Background(), prompt); ok || err != nil {
		t.Errorf("second ask: %v %v", ok, err)
	}

	other := prompt
	other.Addr, other.Fingerprint = "10.0.0.2:22", "SHA256:other"
	got = askAsync(func() (bool, error) { return asker.AcceptHostKey(context.Background(), other) })
	a = send(t, a, listenAsker(asker)())
	a = send(t, a, keys("x", "q")...) // other keys do nothing
	if len(a.dialogs.queue) != 1 {
		t.Fatal("a stray key closed the dialog")
	}
	a = send(t, a, keys("y")...)
	if ok := <-got; !ok {
		t.Fatal("y did not accept the key")
	}
}

func TestAskerKeepsAnAnswerGivenAfterTheAskerGaveUp(t *testing.T) {
	asker := newTestAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	prompt := remote.HostKeyPrompt{Host: "web1", Addr: "10.0.0.1:22", KeyType: "ssh-ed25519", Fingerprint: "SHA256:x"}
	ctx, cancel := context.WithCancel(context.Background())
	got := askAsync(func() (bool, error) { return asker.AcceptHostKey(ctx, prompt) })
	a = send(t, a, listenAsker(asker)())
	cancel()
	<-got
	if a = send(t, a, keys("y")...); len(a.dialogs.queue) != 0 {
		t.Fatal("y did not close the dialog")
	}
	if ok, err := asker.AcceptHostKey(context.Background(), prompt); !ok || err != nil {
		t.Errorf("the accepted key was asked again: %v %v", ok, err)
	}
}

func TestPassphraseDialogIsMasked(t *testing.T) {
	asker := newTestAsker()
	a := newStatusApp(t, 100, 30, Options{Asker: asker})
	got := askAsync(func() ([]byte, error) { return asker.Passphrase(context.Background(), "/home/op/.ssh/id_ed25519") })
	a = send(t, a, listenAsker(asker)())
	a = send(t, a, keys("s3cret")...)
	view := viewText(a)
	if strings.Contains(view, "s3cret") || !strings.Contains(view, "id_ed25519") || !strings.Contains(view, "••••••") {
		t.Errorf("passphrase dialog:\n%s", view)
	}
	if a = send(t, a, keys("enter")...); len(a.dialogs.queue) != 0 {
		t.Fatal("enter did not close the dialog")
	}
	if p := <-got; string(p) != "s3cret" {
		t.Errorf("passphrase %q", p)
	}
}

func TestChangedHostKeyCannotBeAccepted(t *testing.T) {
	a := newStatusApp(t, 100, 30, Options{Asker: newTestAsker()})
	p := downProbe("web2", remote.ClassHostKeyChanged, t0)
	p.Err = &remote.HostError{Host: "web2", Class: remote.ClassHostKeyChanged, Err: &remote.HostKeyError{Addr: "10.0.0.1:22"}}
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{p}})
	if view := viewText(a); !strings.Contains(view, "host key of web2 has CHANGED") || strings.Contains(view, "trust") {
		t.Fatalf("changed-key warning:\n%s", view)
	}
	a = send(t, a, keys("y")...)
	if len(a.dialogs.queue) != 1 {
		t.Fatal("y closed the warning as if it accepted something")
	}
	a = send(t, a, keys("esc")...)
	if len(a.dialogs.queue) != 0 {
		t.Fatal("esc did not close the warning")
	}
	// Shown once per host, not at every refresh.
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{p}})
	if len(a.dialogs.queue) != 0 {
		t.Error("the warning came back on the next refresh")
	}
}

func TestRefreshKeyProbesNow(t *testing.T) {
	a := newStatusApp(t, 110, 20, Options{})
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round()})
	next, cmd := a.Update(keys("ctrl+r")[0])
	if a = next.(App); cmd == nil || !a.status.Busy() {
		t.Fatal("r did not start a round")
	}
	if _, cmd = a.Update(keys("ctrl+r")[0]); cmd != nil {
		t.Error("r started a second round while one runs")
	}
}
