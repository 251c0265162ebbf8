package ui

import (
	"context"
	"errors"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/internal/testfleet"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/internal/uitest"
)

func sampleFleet(t *testing.T) *inventory.Fleet { return testfleet.Load(t) }

// newTestApp returns a loaded console of size w x h on the sample fleet,
// without colour so views compare as text.
func newTestApp(t *testing.T, w, h int) App {
	t.Helper()
	f := sampleFleet(t)
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()())
	return send(t, a, tea.WindowSizeMsg{Width: w, Height: h})
}

func send(t *testing.T, a App, msgs ...tea.Msg) App {
	t.Helper()
	for _, m := range msgs {
		next, _ := a.Update(m)
		a = next.(App)
	}
	return a
}

// keys turns "j", "space", "enter", "/" ... into key presses.
var keys = uitest.Keys

func TestFleetIsGroupedByEnvironmentThenRole(t *testing.T) {
	a := newTestApp(t, 100, 40)
	view := viewText(a)
	order := []string{"staging · lb · 1", "staging · web · 1", "staging · db · 1", "staging · cache · 1",
		"production (protected) · lb · 1", "production (protected) · web · 2", "no environment · unassigned · 1"}
	last := -1
	for _, h := range order {
		i := strings.Index(view, h)
		if i < 0 {
			t.Fatalf("heading %q missing:\n%s", h, view)
		}
		if i < last {
			t.Errorf("heading %q out of order", h)
		}
		last = i
	}
	if !strings.Contains(view, "10 hosts · 2 environments") {
		t.Errorf("header:\n%s", view)
	}
	if got := a.fleet.Focused().Name; got != "stg-lb1" {
		t.Errorf("initial focus = %q, want the first host stg-lb1", got)
	}
}

func TestCursorSkipsHeadingsAndSelects(t *testing.T) {
	a := newTestApp(t, 100, 40)
	a = send(t, a, keys("j")...)
	if got := a.fleet.Focused().Name; got != "stg-web1" {
		t.Fatalf("after j focus = %q, want stg-web1 (the heading between is skipped)", got)
	}
	a = send(t, a, keys("space", "space")...) // select stg-web1 and the next host
	sel := a.fleet.Selected()
	if len(sel) != 2 || sel[0].Name != "stg-web1" || sel[1].Name != "stg-db1" {
		t.Fatalf("selected = %v", names(sel))
	}
	if !strings.Contains(viewText(a), "2 selected") {
		t.Error("header does not count the selection")
	}
	a = send(t, a, keys("G")...)
	if got := a.fleet.Focused().Name; got != "bastion" {
		t.Errorf("G focus = %q", got)
	}
	a = send(t, a, keys("g", "k")...)
	if got := a.fleet.Focused().Name; got != "stg-lb1" {
		t.Errorf("k at the top moved to %q", got)
	}
}

func TestFilterThenSelectAllVisible(t *testing.T) {
	a := newTestApp(t, 100, 40)
	a = send(t, a, keys("/", "eu-west", "enter", "a")...)
	view := viewText(a)
	if strings.Contains(view, "stg-web1") || !strings.Contains(view, "web2") {
		t.Fatalf("filter eu-west shows:\n%s", view)
	}
	if got := names(a.fleet.Selected()); strings.Join(got, ",") != "web1,web2" {
		t.Errorf("select all visible = %v, want web1,web2", got)
	}
	// q typed in the filter is text, not quit.
	a = send(t, a, keys("/", "q")...)
	if !a.fleet.Filtering() || a.fleet.FilterValue() != "eu-westq" {
		t.Errorf("q in the filter: filtering=%v value=%q", a.fleet.Filtering(), a.fleet.FilterValue())
	}
	a = send(t, a, keys("esc")...)
	if view := viewText(a); !strings.Contains(view, "stg-web1") {
		t.Error("esc did not clear the filter")
	}
	if len(a.fleet.Selected()) != 2 {
		t.Error("clearing the filter dropped the selection")
	}
}

func TestFilterWithNoMatchSaysSo(t *testing.T) {
	a := newTestApp(t, 100, 20)
	a = send(t, a, keys("/", "nothing-matches", "enter")...)
	if !strings.Contains(viewText(a), "no hosts match the filter") {
		t.Errorf("view:\n%s", viewText(a))
	}
}

func TestDetailPane(t *testing.T) {
	wide := newTestApp(t, 140, 30)
	wide = send(t, wide, keys("/", "web2", "enter")...)
	view := viewText(wide)
	for _, want := range []string{"web2.prod.example.com", "2222", "production protected", "http://127.0.0.1:8001/health/", "gunicorn"} {
		if !strings.Contains(view, want) {
			t.Errorf("wide detail lacks %q", want)
		}
	}
	narrow := newTestApp(t, 80, 30)
	if strings.Contains(viewText(narrow), "╭") {
		t.Error("narrow terminal shows the detail pane unasked")
	}
	narrow = send(t, narrow, keys("enter")...)
	if !strings.Contains(viewText(narrow), "environment    staging") {
		t.Errorf("enter did not open the detail:\n%s", viewText(narrow))
	}
}

func TestViewFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{60, 10}, {100, 20}, {160, 50}} {
		a := newTestApp(t, size[0], size[1])
		lines := strings.Split(viewText(a), "\n")
		if len(lines) != size[1] {
			t.Errorf("%dx%d: %d lines", size[0], size[1], len(lines))
		}
		for i, l := range lines {
			if w := len([]rune(l)); w > size[0] {
				t.Errorf("%dx%d: line %d is %d wide: %q", size[0], size[1], i, w, l)
			}
		}
	}
}

func TestHelpAndFooterComeFromTheKeyMap(t *testing.T) {
	a := newTestApp(t, 120, 30)
	view := viewText(a)
	for _, fk := range a.fleetFooterKeys() {
		if !a.offNow(fk.b) && !strings.Contains(view, fk.b.Help().Key+" "+fk.short) {
			t.Errorf("footer lacks %q %q", fk.b.Help().Key, fk.short)
		}
	}
	a = send(t, a, keys("?")...)
	view = viewText(a)
	for _, col := range a.keys.inScope(scopeFleet) {
		for _, b := range col {
			if !strings.Contains(view, b.Help().Key) || !strings.Contains(view, b.Help().Desc) {
				t.Errorf("help overlay lacks %q %q", b.Help().Key, b.Help().Desc)
			}
		}
	}
}

func TestQuitAndLoadError(t *testing.T) {
	a := newTestApp(t, 80, 20)
	if _, cmd := a.Update(keys("q")[0]); cmd == nil || cmd() != tea.Quit() {
		t.Error("q does not quit")
	}
	b := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) {
		return nil, errors.New("database is locked")
	}})
	b = send(t, b, b.Init()(), tea.WindowSizeMsg{Width: 80, Height: 10})
	if !strings.Contains(viewText(b), "cannot load the inventory: database is locked") {
		t.Errorf("load error not shown:\n%s", viewText(b))
	}
}

// viewText is the rendered screen without escape sequences.
func viewText(a App) string { return ansi.Strip(a.View().Content) }

func names(hs []inventory.Host) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Name
	}
	return out
}
