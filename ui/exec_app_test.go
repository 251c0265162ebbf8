package ui

import (
	"context"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// TestCommandLineInAnApp: on the command line, ExecInApp picks the next
// app of the fleet (then none); the prompt names it, the command runs
// through ExecApp with that app and the run's title says so; with none
// it runs through Exec as before. The choice stays for the next command.
func TestCommandLineInAnApp(t *testing.T) {
	f := &inventory.Fleet{Apps: []inventory.App{{Name: "shop"}, {Name: "blog"}},
		Hosts: []inventory.Host{{Name: "web1", Address: "10.0.0.1"}, {Name: "web2", Address: "10.0.0.2"}}}
	var mu sync.Mutex
	var calls []string
	result := func(hosts []inventory.Host) remote.Result {
		var hs []remote.HostResult
		for _, h := range hosts {
			hs = append(hs, remote.HostResult{Host: h.Name, Status: remote.StatusOK})
		}
		return remote.NewResult(hs, 0)
	}
	exec := func(_ context.Context, hosts []inventory.Host, command string, _ func(remote.Event)) (remote.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, "exec: "+command)
		return result(hosts), nil
	}
	execApp := func(_ context.Context, hosts []inventory.Host, app, command string, _ func(remote.Event)) (remote.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, "in "+app+": "+command)
		return result(hosts), nil
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: exec, ExecApp: execApp})
	a = send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: 100, Height: 30})
	ctrlO, tab := tea.KeyPressMsg{Code: 'o', Mod: tea.ModCtrl}, tea.KeyPressMsg{Code: tea.KeyTab}
	a = send(t, a, keys("a", "x")...)
	a = send(t, a, ctrlO)
	if v := viewText(a); !strings.Contains(v, "command in shop>") {
		t.Fatalf("the prompt does not name the app:\n%s", v)
	}
	a = send(t, a, tab) // one host first: the app stays named
	if v := viewText(a); !strings.Contains(v, "command in shop (web1 first)>") {
		t.Errorf("the staged prompt does not name the app:\n%s", v)
	}
	a = send(t, a, tab)
	a = send(t, a, keys(strings.Split("./manage.py check", "")...)...)
	next, cmd := a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	if v := viewText(a); !strings.Contains(v, "run 1 in shop") {
		t.Errorf("the run's title does not name the app:\n%s", v)
	}
	a = send(t, a, keys("esc", "x")...)
	if v := viewText(a); !strings.Contains(v, "command in shop>") {
		t.Errorf("the choice did not stay:\n%s", v)
	}
	a = send(t, a, ctrlO)
	if v := viewText(a); !strings.Contains(v, "command in blog>") {
		t.Errorf("ctrl+o did not move to the next app:\n%s", v)
	}
	a = send(t, a, ctrlO)
	if v := viewText(a); strings.Contains(v, "command in") {
		t.Errorf("after the last app, none:\n%s", v)
	}
	a = send(t, a, keys("u", "p")...)
	next, cmd = a.Update(keys("enter")[0])
	runCmds(t, next.(App), cmd)
	mu.Lock()
	defer mu.Unlock()
	if got := strings.Join(calls, "; "); got != "in shop: ./manage.py check; exec: up" {
		t.Errorf("calls: %s", got)
	}
}

// TestProtectedConfirmNamesTheApp: the question before a command runs on
// a protected environment says the app it runs in.
func TestProtectedConfirmNamesTheApp(t *testing.T) {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod", Protected: true}}, Apps: []inventory.App{{Name: "shop"}},
		Hosts: []inventory.Host{{Name: "web1", Address: "10.0.0.1", Env: "prod", Roles: []string{"web"}}}}
	none := func(context.Context, []inventory.Host, string, func(remote.Event)) (remote.Result, error) {
		return remote.Result{}, nil
	}
	inApp := func(context.Context, []inventory.Host, string, string, func(remote.Event)) (remote.Result, error) {
		return remote.Result{}, nil
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: none, ExecApp: inApp})
	a = send(t, a, a.loadFleetCmd()(), tea.WindowSizeMsg{Width: 100, Height: 30})
	a = send(t, a, keys("x")...)
	a = send(t, a, tea.KeyPressMsg{Code: 'o', Mod: tea.ModCtrl})
	a = send(t, a, keys("t", "r", "u", "e", "enter")...)
	if v := viewText(a); !strings.Contains(v, "in:      shop's current release, with its shared/.env") || !strings.Contains(v, "command: true") {
		t.Errorf("the question does not name the app:\n%s", v)
	}
}
