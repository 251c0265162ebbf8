package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// lbFleet is three web hosts behind lb1 (nginx) in prod.
func lbFleet() *inventory.Fleet {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod"}}}
	for i, n := range []string{"web1", "web2", "web3"} {
		f.Hosts = append(f.Hosts, inventory.Host{Name: n, Address: "10.0.0." + string(rune('1'+i)), Env: "prod", Roles: []string{"web"}})
	}
	f.Hosts = append(f.Hosts, inventory.Host{Name: "lb1", Address: "10.0.0.9", Env: "prod", Roles: []string{"lb"},
		Settings: map[string]inventory.RoleSettings{"lb": {Options: map[string]string{"preset": "nginx", "upstream_file": "/etc/nginx/app.conf"}}}})
	return f
}

// TestStatusShowsDrainedBackends feeds the status panel a balancer probe
// that has web2 out of rotation by opsui's mark and web3 by hand: both
// rows say drained (not up), the header counts them, the filter finds
// them by "drained", the detail pane says why, and the wizard's preview
// warns about them.
func TestStatusShowsDrainedBackends(t *testing.T) {
	f := lbFleet()
	a := New(Options{Theme: themes.Dark().WithoutColor(),
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Probe:     func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }})
	a.status.SetClock(func() time.Time { return t0.Add(time.Second) })
	a = send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: 120, Height: 24})
	lb := upProbe("lb1", "")
	lb.Balancer = &remote.BalancerView{Kind: "nginx", Down: map[string]string{
		"10.0.0.2:8000": remote.DrainMark + " run=42 by=alice", "10.0.0.3:8000": ""}}
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		upProbe("web1", "r1"), upProbe("web2", "r1"), upProbe("web3", "r1"), lb}})
	view := viewText(a)
	if !strings.Contains(view, "2 drained") {
		t.Errorf("the header does not count the drained hosts:\n%s", view)
	}
	for host, want := range map[string]string{"web1": " up ", "web2": "drained", "web3": "drained"} {
		if row := hostRow(t, view, host); !strings.Contains(row, want) {
			t.Errorf("%s row lacks %q: %q", host, want, row)
		}
	}
	b := send(t, a, keys("/", "d", "r", "a", "i", "n", "e", "d", "enter")...)
	var got []string
	for _, h := range b.fleet.Shown() {
		got = append(got, h.Name)
	}
	if strings.Join(got, ",") != "web2,web3" {
		t.Errorf("filter drained shows %v", got)
	}
	ws := a.status.DrainWarnings(f, "prod")
	if len(ws) != 2 || !strings.Contains(ws[0], "web2 is out of rotation: lb1: left drained by opsui (# opsui-drained run=42 by=alice)") ||
		!strings.Contains(ws[1], "web3 is out of rotation: lb1: marked down by hand") {
		t.Errorf("preview warnings: %q", ws)
	}
	// Put back: the next round clears it.
	lb.Balancer = &remote.BalancerView{Kind: "nginx", Down: map[string]string{}}
	lb.At = t0.Add(time.Second)
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{lb}})
	if view := viewText(a); strings.Contains(view, "drained") {
		t.Errorf("still drained after the balancer put them back:\n%s", view)
	}
}

// TestWizardPreviewWarnsAboutDrainedBackends: a web host of the target
// environment that a balancer has out of rotation is a warning of the
// deploy's preview, with why.
func TestWizardPreviewWarnsAboutDrainedBackends(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	d := newFlowDriver(t, ff.fns(), nil)
	web, _ := d.a.fleet.Fleet().Host("stg-web1")
	backend, _ := deploy.BackendOf(d.a.fleet.Fleet(), web)
	lb := upProbe("stg-lb1", "")
	lb.Balancer = &remote.BalancerView{Kind: "nginx", Down: map[string]string{backend: remote.DrainMark + " run=3"}}
	d.a = send(t, d.a, fleetview.RoundMsg{Probes: []remote.Probe{lb}})
	toStaging(d)
	d.press("enter")
	d.see("ref>", "branch", "main", "add checkout")
	d.press("enter")
	d.see("commits it brings (1)", "stg-web1 is out of rotation: stg-lb1: left drained by opsui (# opsui-drained run=3)")
}
