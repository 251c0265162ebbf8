package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/themes"
)

var logsT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// TestLogsFromTheFleet opens the view with L on the selected hosts, gets
// the lines the engine hook sends, and esc stops the follow.
func TestLogsFromTheFleet(t *testing.T) {
	f := sampleFleet(t)
	stopped := make(chan struct{})
	var asked []string
	fn := func(ctx context.Context, _ *inventory.Fleet, hosts []inventory.Host, emit func(logs.Line)) error {
		for _, h := range hosts {
			asked = append(asked, h.Name)
			emit(logs.Line{Host: h.Name, File: "/l", Time: logsT0, Text: "hello from " + h.Name})
		}
		<-ctx.Done()
		close(stopped)
		return ctx.Err()
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), Logs: fn,
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 100, Height: 30})
	a = send(t, a, keys("space", "down", "space")...) // the first two hosts
	next, cmd := a.Update(keys("L")[0])
	a = next.(App)
	if a.mode != modeLogs || a.logs.view == nil {
		t.Fatalf("L did not open the logs view (mode %d)", a.mode)
	}
	// Run the follow (it blocks until stopped) and a tick.
	msgs := make(chan tea.Msg, 4)
	for _, c := range cmd().(tea.BatchMsg) {
		go func() { msgs <- c() }()
	}
	msg := <-msgs // the tick comes first: the follow blocks
	a = send(t, a, msg)
	got := viewText(a)
	if len(asked) != 2 || !strings.Contains(got, "hello from "+asked[0]) || !strings.Contains(got, "hello from "+asked[1]) {
		t.Fatalf("asked %v; view:\n%s", asked, got)
	}
	if !strings.Contains(got, "L") && !strings.Contains(got, "follow/pause") {
		t.Errorf("footer lacks the logs keys:\n%s", got)
	}
	a = send(t, a, keys("esc")...)
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("esc did not stop the follow")
	}
	a = send(t, a, <-msgs) // the DoneMsg of a closed view: dropped
	if a.mode != modeFleet || a.logs.view != nil {
		t.Errorf("esc did not go back to the fleet (mode %d)", a.mode)
	}
}
