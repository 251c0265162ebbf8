package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// scriptedExec stands in for the engine in model tests: it emits, for each
// host, a line per output and then exits with the host's code. (The engine
// itself is tested against real sshd in ops and end to end in cmd/opsui.)
func scriptedExec(codes map[string]int, lines int) func(context.Context, []inventory.Host, string, func(remote.Event)) (remote.Result, error) {
	return func(ctx context.Context, hosts []inventory.Host, cmd string, emit func(remote.Event)) (remote.Result, error) {
		var res remote.Result
		for _, h := range hosts {
			emit(remote.Event{Host: h.Name, Kind: remote.EventStarted, Time: time.Now()})
			for i := range lines {
				emit(remote.Event{Host: h.Name, Kind: remote.EventStdout, Line: fmt.Sprintf("%s line %d", h.Name, i)})
			}
			code := codes[h.Name]
			ev := remote.Event{Host: h.Name, Kind: remote.EventExited, Code: code, Duration: 42 * time.Millisecond}
			st := remote.StatusOK
			if code != 0 {
				ev.Class, ev.Err, st = remote.ClassExit, errors.New("exit status 1"), remote.StatusFailed
			}
			emit(ev)
			res.Hosts = append(res.Hosts, remote.HostResult{Host: h.Name, Status: st, Code: code})
			if code == 0 {
				res.OK++
			} else {
				res.Failed++
			}
		}
		return res, nil
	}
}

// runCmds executes cmd and every command it batches, feeding the messages
// back, until only ticks are left.
func runCmds(t *testing.T, a App, cmd tea.Cmd) App {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		switch msg := c().(type) {
		case tea.BatchMsg:
			queue = append(queue, msg...)
		case runTickMsg:
			// ticks only re-render; drop them to end the loop
		default:
			next, more := a.Update(msg)
			a = next.(App)
			queue = append(queue, more)
		}
	}
	return a
}

func TestRunCommandOnSelection(t *testing.T) {
	f := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(map[string]int{"web2": 1}, 3)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("/", "eu-west", "enter", "a", "x")...)
	if a.mode != modeCommand {
		t.Fatal("x did not open the command prompt")
	}
	// eu-west's hosts are production's: its name is asked for first.
	a = send(t, a, keys("uname -n", "enter", "production")...)
	next, cmd := a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	view := viewText(a)
	for _, want := range []string{"web1 · ok 42ms", "web2 · failed: exit 1", "web1 line 2", "web2 line 2", "done: "} {
		if !strings.Contains(view, want) {
			t.Errorf("run view lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "stg-web1") {
		t.Error("ran on a host that was not selected")
	}
	// esc goes back to the fleet, o reopens the run.
	a = send(t, a, keys("esc")...)
	if a.mode != modeFleet {
		t.Fatal("esc did not leave the run")
	}
	a = send(t, a, keys("o")...)
	if a.mode != modeRun {
		t.Fatal("o did not reopen the run")
	}
}

func TestRunManyHostsListsThemAndJumpsToFailures(t *testing.T) {
	f := &inventory.Fleet{}
	codes := map[string]int{}
	for i := range 12 {
		name := fmt.Sprintf("web%02d", i)
		f.Hosts = append(f.Hosts, inventory.Host{Name: name, Address: "10.0.0.1"})
		if i == 7 {
			codes[name] = 2
		}
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(codes, 1)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("a", "x", "true")...)
	next, cmd := a.Update(keys("enter")[0])
	a = runCmds(t, next.(App), cmd)
	// n in the hosts grouped by output, then t: the per-host list, on
	// the same host.
	a = send(t, a, keys("n", "t")...)
	if a.run.Focus() != 7 {
		t.Errorf("n focused host %d, want the failed web07", a.run.Focus())
	}
	view := viewText(a)
	if !strings.Contains(view, "web07 failed: exit 2") || !strings.Contains(view, "web11 ok") {
		t.Errorf("host list:\n%s", view)
	}
}

func TestCancelAsksAndEnterDoesNotConfirm(t *testing.T) {
	f := sampleFleet(t)
	started := make(chan struct{})
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: func(ctx context.Context, hosts []inventory.Host, cmd string, emit func(remote.Event)) (remote.Result, error) {
			close(started)
			<-ctx.Done()
			return remote.Result{Cancelled: len(hosts)}, nil
		}})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("x", "sleep 100")...)
	next, cmd := a.Update(keys("enter")[0])
	a = next.(App)
	done := make(chan tea.Msg, 1)
	go func() {
		for _, c := range cmd().(tea.BatchMsg) {
			if m := c(); m != nil {
				if _, tick := m.(runTickMsg); !tick {
					done <- m
				}
			}
		}
	}()
	<-started
	a = send(t, a, keys("c", "enter")...)
	if a.run.Asking() {
		t.Fatal("enter confirmed nothing but left the question open")
	}
	select {
	case <-done:
		t.Fatal("enter cancelled the run")
	case <-time.After(100 * time.Millisecond):
	}
	a = send(t, a, keys("c")...)
	if !strings.Contains(viewText(a), "cancel the run on every host?") {
		t.Fatal("no confirmation shown")
	}
	_, cancelCmd := a.Update(keys("y")[0])
	a = send(t, a, cancelCmd())
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("y did not cancel the run")
	}
}

func TestExecDisabledWhenReadOnly(t *testing.T) {
	f := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), ReadOnly: true, LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Exec: scriptedExec(nil, 1)})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("x")...)
	if a.mode != modeFleet || !strings.Contains(viewText(a), "read-only: commands are disabled") {
		t.Errorf("read-only x: mode %d\n%s", a.mode, viewText(a))
	}
}
