package ui

import (
	"context"
	"strings"
	"sync"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/themes"
)

// b in the logs view reopens the follow of the same hosts with 100 more
// lines of history per host each time (issue 18, item 12); without the
// engine's hook it says so.
func TestLogsMoreHistoryReopensTheFollow(t *testing.T) {
	f := sampleFleet(t)
	var mu sync.Mutex
	var backlogs []int
	var followed [][]string
	record := func(backlog int, hosts []inventory.Host) {
		mu.Lock()
		defer mu.Unlock()
		backlogs = append(backlogs, backlog)
		followed = append(followed, names(hosts))
	}
	opts := Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		Logs: func(ctx context.Context, _ *inventory.Fleet, hosts []inventory.Host, _ func(logs.Line)) error {
			record(0, hosts)
			return nil
		},
		LogsBacklog: func(ctx context.Context, _ *inventory.Fleet, hosts []inventory.Host, backlog int, _ func(logs.Line)) error {
			record(backlog, hosts)
			return nil
		}}
	a := New(opts)
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	a = send(t, a, keys("j", "space", "j", "space")...)
	want := names(a.fleet.Selected())
	// follow runs the view's follow command, as the program would.
	follow := func(cmd tea.Cmd) {
		if cmd == nil {
			t.Fatal("no command")
		}
		if b, ok := cmd().(tea.BatchMsg); ok {
			b[0]()
		}
	}
	next, cmd := a.Update(keys("L")[0])
	a = next.(App)
	follow(cmd)
	first := a.logs.view.ID()
	for range 2 {
		next, cmd = a.Update(keys("b")[0])
		a = next.(App)
		follow(cmd)
	}
	if a.mode != modeLogs || a.logs.view.ID() == first {
		t.Fatalf("b did not reopen the view: mode %d", a.mode)
	}
	if len(backlogs) != 3 || backlogs[0] != 0 || backlogs[1] != 200 || backlogs[2] != 300 {
		t.Errorf("backlogs %v, want [0 200 300]", backlogs)
	}
	for _, got := range followed {
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("followed %v, want %v", got, want)
		}
	}
	if v := viewText(a); !strings.Contains(v, "history: the last 300 lines of each file") {
		t.Errorf("no note:\n%s", v)
	}
	// L afresh starts from the default history again.
	a = send(t, a, keys("esc")...)
	next, cmd = a.Update(keys("L")[0])
	a = next.(App)
	follow(cmd)
	if backlogs[len(backlogs)-1] != 0 {
		t.Errorf("L after b: backlog %d", backlogs[len(backlogs)-1])
	}

	opts.LogsBacklog = nil
	b := New(opts)
	b = send(t, b, b.Init()(), tea.WindowSizeMsg{Width: 120, Height: 30})
	b = send(t, b, keys("L", "b")...)
	if v := viewText(b); !strings.Contains(v, "more history is not available here") {
		t.Errorf("b without the hook:\n%s", v)
	}
}
