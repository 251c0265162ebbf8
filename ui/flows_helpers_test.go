package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/themes"
	flowsview "github.com/opsui/opsui/ui/flows"
	"github.com/opsui/opsui/ui/internal/flowtest"
)

// fakeFlows is the flows' fake engine (ui/internal/flowtest), its entry
// points as flowsview.Flows.
type fakeFlows struct{ *flowtest.Fake }

func newFakeFlows(fl *inventory.Fleet) fakeFlows { return fakeFlows{flowtest.NewFake(fl)} }

func (f fakeFlows) fns() flowsview.Flows {
	return flowsview.Flows{Refs: f.Refs, Preview: f.Preview, Deploy: f.Deploy,
		RollbackPreview: f.RollbackPreview, Rollback: f.Rollback, MigrationPlan: f.MigrationPlan, Migrate: f.Migrate,
		FlushPlan: f.FlushPlan, Flush: f.Flush, Releases: f.Releases, Compare: f.Compare}
}

// driver runs an App as the program would: every cmd in a goroutine, its
// messages fed back one by one, so an engine blocked on a question does
// not block the test.
type driver struct {
	t    *testing.T
	a    App
	msgs chan tea.Msg
}

func newFlowDriver(t *testing.T, fns flowsview.Flows, load func(context.Context, int64) (ops.RecordedRun, error)) *driver {
	t.Helper()
	fl := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return fl, nil },
		Flows: fns, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 40})
	return &driver{t: t, a: a, msgs: make(chan tea.Msg, 256)}
}

func (d *driver) do(cmd tea.Cmd) {
	if cmd != nil {
		go func() { d.msgs <- cmd() }()
	}
}

func (d *driver) send(msg tea.Msg) {
	next, cmd := d.a.Update(msg)
	d.a = next.(App)
	d.do(cmd)
}

// press sends keys ("enter", "esc", "up", "down", "space", "shift+tab", or text).
func (d *driver) press(names ...string) {
	for _, n := range names {
		switch n {
		case "shift+tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab, Mod: tea.ModShift}))
			continue
		case "tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab}))
			continue
		case "right":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyRight}))
			continue
		case "left":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyLeft}))
			continue
		}
		for _, m := range keys(n) {
			d.send(m)
		}
	}
}

// until feeds messages until cond holds, failing after a while.
func (d *driver) until(what string, cond func(view string) bool) string {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if v := viewText(d.a); cond(v) {
			return v
		}
		select {
		case msg := <-d.msgs:
			switch m := msg.(type) {
			case nil:
			case tea.BatchMsg:
				for _, c := range m {
					d.do(c)
				}
			default:
				d.send(m)
			}
		case <-deadline:
			d.t.Fatalf("no %s; screen:\n%s", what, viewText(d.a))
		}
	}
}

// see waits until the view shows every one of want.
func (d *driver) see(want ...string) string {
	d.t.Helper()
	return d.until(strings.Join(want, " + "), func(v string) bool {
		for _, w := range want {
			if !strings.Contains(v, w) {
				return false
			}
		}
		return true
	})
}

// settle feeds the messages already there (and those they cause) for a
// moment, for checks that something did not happen.
func (d *driver) settle() string {
	d.t.Helper()
	end := time.After(150 * time.Millisecond)
	for {
		select {
		case msg := <-d.msgs:
			if m, ok := msg.(tea.BatchMsg); ok {
				for _, c := range m {
					d.do(c)
				}
			} else if msg != nil {
				d.send(msg)
			}
		case <-end:
			return viewText(d.a)
		}
	}
}
