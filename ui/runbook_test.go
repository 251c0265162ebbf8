package ui

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// runbookApp is the console on the sample fleet with runbooks; every
// runbook run is noted in ran as "NAME@ENV:host,host".
func runbookApp(t *testing.T, readOnly bool, ran *[]string) App {
	t.Helper()
	f := sampleFleet(t)
	f.Runbooks = []inventory.Runbook{
		{Name: "restart-web", Description: "reload the app servers", Run: "sudo -n systemctl reload gunicorn", Roles: []string{"web"}, Key: "W"},
		{Name: "disk", Run: "df -h /srv", Envs: []string{"staging"}, Confirm: true},
		{Name: "deploy", Run: "echo a runbook named as an action"},
		{Name: "clash", Run: "true", Key: "d"},
	}
	exec := scriptedExec(nil, 1)
	fn := func(ctx context.Context, plan ops.RunbookPlan, emit func(remote.Event)) (remote.Result, error) {
		*ran = append(*ran, plan.Runbook.Name+"@"+plan.Env+":"+strings.Join(names(plan.Hosts), ","))
		return exec(ctx, plan.Hosts, plan.Runbook.Run, emit)
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), ReadOnly: readOnly, LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(nil, 1), Runbook: fn, Flows: newFakeFlows(f).fns()})
	return send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 30})
}

// enter presses enter and runs what it starts.
func enter(t *testing.T, a App) App {
	t.Helper()
	next, cmd := a.Update(keys("enter")[0])
	return runCmds(t, next.(App), cmd)
}

// Issue 18, item 20: the palette lists each runbook with its description
// and key, and runs it on its roles' hosts in the environment named, in
// the run view; a protected environment asks for its name as x does, a
// confirm: true runbook asks yes/no (enter is no).
func TestPaletteListsAndRunsRunbooks(t *testing.T) {
	var ran []string
	base := runbookApp(t, false, &ran)

	a := send(t, base, keys(":", "restart-")...) // ":rest" is :restart's
	if v := viewText(a); !strings.Contains(v, "> restart-web") || !strings.Contains(v, "runbook: reload the app servers (W)") {
		t.Fatalf(":restart- does not list the runbook with its description and key:\n%s", v)
	}
	a = send(t, base, keys(":", "runbook")...)
	if v := viewText(a); !strings.Contains(v, "a runbook: restart-web, disk, deploy, clash") {
		t.Errorf(":runbook does not name the runbooks:\n%s", v)
	}

	// Staging is not protected: it runs at once, on the web host alone.
	a = enter(t, send(t, base, keys(":", "restart-web staging")...))
	if a.mode != modeRun || strings.Join(ran, " ") != "restart-web@staging:stg-web1" {
		t.Fatalf(":restart-web staging: mode %v, ran %v\n%s", a.mode, ran, viewText(a))
	}
	if v := viewText(a); !strings.Contains(v, "runbook restart-web") {
		t.Errorf("the run view does not say which runbook runs:\n%s", v)
	}

	// Production is protected: its name is typed first.
	ran = nil
	a = send(t, base, keys(":", "runbook restart-web production", "enter")...)
	view := viewText(a)
	for _, want := range []string{"Run on 2 hosts?", "command: runbook restart-web: sudo -n systemctl reload gunicorn",
		"web1 (production), web2 (production)", "production is a protected environment", "type production to confirm"} {
		if !strings.Contains(view, want) {
			t.Errorf("the protected question lacks %q:\n%s", want, view)
		}
	}
	a = send(t, a, keys("y", "enter")...)
	if !strings.Contains(viewText(a), "the name did not match") || len(ran) != 0 {
		t.Fatalf("a wrong name ran (%v) or was not refused:\n%s", ran, viewText(a))
	}
	if a = send(t, a, keys("esc")...); a.mode != modeFleet || len(ran) != 0 {
		t.Fatalf("esc: mode %v, ran %v", a.mode, ran)
	}
	a = send(t, base, keys(":", "restart-web production", "enter", "production")...)
	if a = enter(t, a); a.mode != modeRun || strings.Join(ran, " ") != "restart-web@production:web1,web2" {
		t.Fatalf("the name typed: mode %v, ran %v\n%s", a.mode, ran, viewText(a))
	}

	// confirm: true asks yes/no; enter (or any key but y) leaves.
	ran = nil
	a = send(t, base, keys(":", "disk", "enter")...)
	view = viewText(a)
	for _, want := range []string{"Run runbook disk on 4 hosts in staging?", "command: df -h /srv", "y runs it; any other key leaves without running"} {
		if !strings.Contains(view, want) {
			t.Errorf("the yes/no question lacks %q:\n%s", want, view)
		}
	}
	if a = enter(t, a); a.mode != modeFleet || len(ran) != 0 {
		t.Fatalf("enter confirmed a runbook: mode %v, ran %v", a.mode, ran)
	}
	a = send(t, base, keys(":", "disk", "enter")...)
	next, cmd := a.Update(keys("y")[0])
	if a = runCmds(t, next.(App), cmd); a.mode != modeRun || len(ran) != 1 || !strings.HasPrefix(ran[0], "disk@staging:") {
		t.Fatalf("y: mode %v, ran %v", a.mode, ran)
	}

	// A runbook named as an action is reached with :runbook NAME.
	ran = nil
	a = enter(t, send(t, base, keys(":", "runbook deploy staging")...))
	if len(ran) != 1 || !strings.HasPrefix(ran[0], "deploy@staging:") {
		t.Errorf(":runbook deploy staging ran %v", ran)
	}
	a = send(t, base, keys(":", "runbook nosuch", "enter")...)
	if a.mode != modeFleet || !strings.Contains(a.notice, `unknown runbook "nosuch"`) {
		t.Errorf(":runbook nosuch: mode %v, notice %q", a.mode, a.notice)
	}
	a = send(t, base, keys(":", "disk production", "enter")...)
	if a.mode != modeFleet || a.notice != "runbook disk runs only in staging, not production" {
		t.Errorf(":disk production: notice %q", a.notice)
	}
}

// A runbook's key: runs it in the environment of the host under the
// cursor, asking as the palette does; a key the console's key table uses
// is not bound (the palette says so) and keeps its action.
func TestRunbookKeys(t *testing.T) {
	var ran []string
	base := runbookApp(t, false, &ran)
	if env := base.fleet.Focused().Env; env != "staging" {
		t.Fatalf("the cursor is on a host of %q, want staging", env)
	}
	next, cmd := base.Update(keys("W")[0])
	if a := runCmds(t, next.(App), cmd); a.mode != modeRun || strings.Join(ran, " ") != "restart-web@staging:stg-web1" {
		t.Fatalf("W: mode %v, ran %v\n%s", a.mode, ran, viewText(a))
	}

	f := base.fleet.Fleet()
	if got := RunbookKeyConflicts(DefaultKeyMap(), f.Runbooks); len(got) != 1 || got["clash"] != "deploy" {
		t.Errorf("conflicts %v, want clash's d taken by deploy", got)
	}
	if a := send(t, base, keys("d")...); a.mode != modeFlow || len(ran) != 1 {
		t.Errorf("d: mode %v, ran %v: a runbook took the deploy key", a.mode, ran)
	}
	if v := viewText(send(t, base, keys(":", "clash")...)); !strings.Contains(v, "(key d not bound: it is deploy's)") {
		t.Errorf("the palette does not say clash's key is not bound:\n%s", v)
	}
	if v := viewText(base); !strings.Contains(v, "runbook clash: key d is deploy's, so it is not bound (:clash runs it)") {
		t.Errorf("no toast says clash's key is not bound:\n%s", v)
	}
	if v := viewText(send(t, base, keys("?")...)); !strings.Contains(v, "runbook restart-web") || strings.Count(v, "runbook clash") != strings.Count(v, "runbook clash: key d") {
		t.Errorf("the help does not list the runbooks' keys, or lists clash's:\n%s", v)
	}
	// Rebound in the config, deploy leaves d free for the runbook.
	k := DefaultKeyMap()
	k.rebind("deploy", []string{"D"})
	if got := RunbookKeyConflicts(k, f.Runbooks); len(got) != 0 {
		t.Errorf("with deploy on D: conflicts %v", got)
	}
}

// Read-only: neither the palette nor a key runs a runbook.
func TestRunbooksAreOffWhenReadOnly(t *testing.T) {
	var ran []string
	base := runbookApp(t, true, &ran)
	a := enter(t, send(t, base, keys(":", "restart-web staging")...))
	if a.mode != modeFleet || a.notice != readOnlyNotice || len(ran) != 0 {
		t.Errorf("read-only palette: mode %v, notice %q, ran %v", a.mode, a.notice, ran)
	}
	a = send(t, base, keys("W")...)
	if a.mode != modeFleet || a.notice != readOnlyNotice || len(ran) != 0 {
		t.Errorf("read-only W: mode %v, notice %q, ran %v", a.mode, a.notice, ran)
	}
}
