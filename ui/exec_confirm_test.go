package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// countingExec is scriptedExec that counts the hosts it ran on.
func countingExec(ran *[]string) func(context.Context, []inventory.Host, string, func(remote.Event)) (remote.Result, error) {
	run := scriptedExec(nil, 1)
	return func(ctx context.Context, hosts []inventory.Host, cmd string, emit func(remote.Event)) (remote.Result, error) {
		for _, h := range hosts {
			*ran = append(*ran, h.Name)
		}
		return run(ctx, hosts, cmd, emit)
	}
}

// Issue 18, trap 2: `x` on hosts of a protected environment shows the
// command and the hosts and runs only once the environment's name is
// typed; esc leaves without running, a wrong name says so.
func TestExecOnProtectedHostsAsksForTheEnvironmentsName(t *testing.T) {
	f := sampleFleet(t)
	var ran []string
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: countingExec(&ran)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("/", "eu-west", "enter", "a", "x")...) // web1, web2: production
	a = send(t, a, keys("rm -rf /tmp/cache", "enter")...)
	view := viewText(a)
	for _, want := range []string{"Run on 2 hosts?", "command: rm -rf /tmp/cache", "web1 (production), web2 (production)",
		"production is a protected environment", "type production to confirm"} {
		if !strings.Contains(view, want) {
			t.Errorf("confirmation lacks %q:\n%s", want, view)
		}
	}
	if len(ran) != 0 {
		t.Fatalf("ran on %v before the name was typed", ran)
	}
	a = send(t, a, keys("y", "enter")...)
	if !strings.Contains(viewText(a), "the name did not match") || len(ran) != 0 {
		t.Fatalf("a wrong name ran (%v) or was not refused:\n%s", ran, viewText(a))
	}
	a = send(t, a, keys("esc")...)
	if a.mode != modeFleet || len(ran) != 0 {
		t.Fatalf("esc: mode %v, ran %v", a.mode, ran)
	}

	// Again, the name typed: it runs on both hosts.
	a = send(t, a, keys("x", "uptime", "enter", "production")...)
	next, cmd := a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	if a.mode != modeRun || strings.Join(ran, ",") != "web1,web2" {
		t.Fatalf("after the name: mode %v, ran %v\n%s", a.mode, ran, viewText(a))
	}
}

// An ordinary environment's hosts run at once, as before.
func TestExecOnOrdinaryHostsRunsWithoutAsking(t *testing.T) {
	f := sampleFleet(t)
	var ran []string
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: countingExec(&ran)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("/", "stg-web1", "enter", "a", "x", "uptime")...)
	next, cmd := a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	if a.mode != modeRun || strings.Join(ran, ",") != "stg-web1" {
		t.Fatalf("mode %v, ran %v\n%s", a.mode, ran, viewText(a))
	}
}

// Hosts of two protected environments: both names are asked for.
func TestExecOnTwoProtectedEnvironmentsAsksForBoth(t *testing.T) {
	f := sampleFleet(t)
	for i := range f.Environments {
		f.Environments[i].Protected = true
	}
	var ran []string
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: countingExec(&ran)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("/", "web", "enter", "a", "x", "uptime", "enter")...)
	view := viewText(a)
	if !strings.Contains(view, "type production,staging to confirm") || !strings.Contains(view, "production, staging are protected environments") {
		t.Fatalf("confirmation:\n%s", view)
	}
	a = send(t, a, keys("production", "enter")...)
	if len(ran) != 0 || !strings.Contains(viewText(a), "the name did not match") {
		t.Fatalf("one name of two ran on %v", ran)
	}
}
