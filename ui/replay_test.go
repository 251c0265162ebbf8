package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

// Opening a past run in the console streams it off the UI's goroutine;
// a read error mid-stream is shown, not a half replay.
func TestReplayOpenStreamsAndReportsErrors(t *testing.T) {
	f := sampleFleet(t)
	run := streamedRun([]string{"web1"}, 100)
	broken := run
	broken.ID = 43
	broken.Stream = func(ctx context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
		if err := fn(0, chunk("stdout", "a\n")); err != nil {
			return err
		}
		return errors.New("database is locked")
	}
	list := func(context.Context, int) ([]store.Run, error) { return []store.Run{run.Run, broken.Run}, nil }
	load := func(_ context.Context, id int64) (ops.RecordedRun, error) {
		if id == 43 {
			return broken, nil
		}
		return run, nil
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		ListRuns: list, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 30})
	a = press(t, a, "P", "enter")
	if view := viewText(a); a.mode != modeRun || !strings.Contains(view, "web1 line 99") {
		t.Fatalf("the streamed replay (mode %d):\n%s", a.mode, view)
	}
	a = press(t, a, "esc", "j", "enter")
	if view := viewText(a); a.mode != modeRuns || !strings.Contains(view, "read run 43: database is locked") {
		t.Errorf("a failed stream (mode %d):\n%s", a.mode, view)
	}
}
