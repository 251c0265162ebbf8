package ui

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// envDriftMsgOf runs the commands of cmd, each in its own goroutine (a
// status tick waits for its interval), and returns the env drift message
// one of them gives.
func envDriftMsgOf(t *testing.T, cmd tea.Cmd) fleetview.EnvDriftMsg {
	t.Helper()
	got := make(chan fleetview.EnvDriftMsg, 1)
	var run func(tea.Cmd)
	run = func(c tea.Cmd) {
		if c == nil {
			return
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			for _, c := range msg {
				go run(c)
			}
		case fleetview.EnvDriftMsg:
			got <- msg
		}
	}
	go run(cmd)
	select {
	case m := <-got:
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no env drift read was started")
	}
	return fleetview.EnvDriftMsg{}
}

// TestEnvDriftInTheConsole: the env drift is read in a command (Update
// never calls it), then the header counts it with release drift, the
// detail pane of a drifting host names the app, environment and keys, the
// status filter finds it; it is read again only after EnvDriftInterval,
// and a failed read is said once and keeps what was found.
func TestEnvDriftInTheConsole(t *testing.T) {
	var calls atomic.Int32
	var fail atomic.Bool
	read := func(_ context.Context, f *inventory.Fleet) (ops.EnvDrift, error) {
		calls.Add(1)
		if fail.Load() {
			return ops.EnvDrift{}, errors.New("store closed")
		}
		return ops.EnvDrift{Checked: len(f.Hosts), Hosts: map[string][]ops.HostEnvDrift{
			"web2": {{App: "shop", Env: "prod", Keys: []string{"API_KEY differs", "EXTRA extra"}}}}}, nil
	}
	f := statusFleet()
	now := t0
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Probe:    func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil },
		EnvDrift: read})
	a.status.SetClock(func() time.Time { return now })
	next, cmd := a.Update(a.loadFleetCmd()())
	a = next.(App)
	if calls.Load() != 0 {
		t.Fatal("Update read the env drift itself")
	}
	a = send(t, a, tea.WindowSizeMsg{Width: 130, Height: 30}, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "r1"), upProbe("web2", "r1"), upProbe("web3", "r0"), upProbe("db1", ""),
	}})
	if view := viewText(a); !strings.Contains(view, "1 host drifts") || strings.Contains(view, "env)") || strings.Contains(view, "env drift") {
		t.Fatalf("before the env drift is read:\n%s", view)
	}
	a = send(t, a, envDriftMsgOf(t, cmd))
	view := viewText(a)
	if !strings.Contains(view, "2 hosts drift (1 env)") {
		t.Errorf("header does not count web2's env drift with web3's release:\n%s", view)
	}
	for a.fleet.Focused().Name != "web2" {
		a = send(t, a, keys("j")...)
	}
	view = viewText(a)
	if !strings.Contains(view, "env drift") || !strings.Contains(view, "prod · shop: API_KEY differs, EXTRA extra") {
		t.Errorf("web2's detail does not show its env drift:\n%s", view)
	}
	b := send(t, a, keys("/")...)
	b = send(t, b, keys(strings.Split("env-drift", "")...)...)
	b = send(t, b, keys("enter")...)
	if got := names(b.fleet.Shown()); strings.Join(got, ",") != "web2" {
		t.Errorf("filter env-drift shows %v", got)
	}

	// Read again only once the interval has passed.
	next, _ = a.Update(fleetview.TickMsg{})
	a = next.(App)
	if a.status.FetchEnvDrift(f) != nil {
		t.Error("a second read started before the interval")
	}
	now = now.Add(fleetview.EnvDriftInterval)
	fail.Store(true)
	next, cmd = a.Update(fleetview.TickMsg{})
	a = next.(App)
	next, toast := a.Update(envDriftMsgOf(t, cmd))
	a = next.(App)
	if toast == nil || !strings.Contains(viewText(a), "env drift: store closed") {
		t.Errorf("a failed read is not said:\n%s", viewText(a))
	}
	if !strings.Contains(viewText(a), "2 hosts drift (1 env)") {
		t.Errorf("a failed read dropped what was found:\n%s", viewText(a))
	}
	now = now.Add(fleetview.EnvDriftInterval)
	next, cmd = a.Update(fleetview.TickMsg{})
	a = next.(App)
	if _, toast = a.Update(envDriftMsgOf(t, cmd)); toast != nil {
		t.Error("the same failure is said again at every read")
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d reads, want 3", n)
	}
}
