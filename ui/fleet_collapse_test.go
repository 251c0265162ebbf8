package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// foldFleet is 400 production web hosts (3 down, 2 failing their health
// check, 1 on another release), 2 production db hosts and 2 staging web
// hosts, all probed: a console at 80x24 on it.
func foldFleet(t *testing.T) App {
	t.Helper()
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "production", Protected: true}, {Name: "staging"}}}
	add := func(name, env, role string) {
		f.Hosts = append(f.Hosts, inventory.Host{Name: name, Address: "10.0.0.1", Env: env, Roles: []string{role}})
	}
	for i := range 400 {
		add(fmt.Sprintf("web%03d", i), "production", "web")
	}
	add("db1", "production", "db")
	add("db2", "production", "db")
	add("stg-web1", "staging", "web")
	add("stg-web2", "staging", "web")
	noProbe := func(context.Context, *inventory.Fleet, []inventory.Host) []remote.Probe { return nil }
	a := New(Options{Theme: themes.Dark().WithoutColor(), Probe: noProbe,
		LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil }})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 80, Height: 24})
	var probes []remote.Probe
	for i, h := range f.Hosts {
		p := remote.Probe{Host: h.Name, At: time.Now(), Reachable: true, Release: "20260101120000", Health: remote.HealthOK}
		switch {
		case i < 3:
			p.Reachable, p.Class = false, remote.ClassTimeout
		case i < 5:
			p.Health = remote.HealthFailed
		case i == 5:
			p.Release = "20251231120000"
		}
		probes = append(probes, p)
	}
	return send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: probes})
}

// bodyLines are the fleet list's lines of the screen: below the header
// and the column titles.
func bodyLines(a App) []string { return strings.Split(viewText(a), "\n")[2:] }

// TestZFoldsTheGroupAndItsHeadingCounts: z on a host folds its group into
// one line that counts its down, failing and drifting hosts; the cursor
// rests on it (no host under it, so no action has a target), the next
// group follows right under it, and z opens it again on its first host.
func TestZFoldsTheGroupAndItsHeadingCounts(t *testing.T) {
	a := foldFleet(t)
	if got := a.fleet.Focused().Name; got != "web000" {
		t.Fatalf("focus %q, want web000", got)
	}
	a = send(t, a, keys("j", "j", "z")...)
	lines := bodyLines(a)
	want := ">▸ production (protected) · web · 400 (3 down, 2 failing, 1 drift)"
	if strings.TrimRight(lines[0], " ") != want {
		t.Fatalf("folded heading:\n%q\nwant\n%q\nscreen:\n%s", lines[0], want, viewText(a))
	}
	if !strings.HasPrefix(lines[1], "production (protected) · db · 2") || !strings.Contains(lines[2], "db1") {
		t.Fatalf("the next group does not follow the folded one:\n%s", viewText(a))
	}
	if strings.Contains(viewText(a), "web004") {
		t.Errorf("a folded host is drawn:\n%s", viewText(a))
	}
	if got := a.fleet.Focused().Name; got != "" || len(a.fleet.Selected()) != 0 {
		t.Errorf("on the folded heading: focus %q, selection %v", got, names(a.fleet.Selected()))
	}
	if n := len(a.fleet.Shown()); n != 404 {
		t.Errorf("Shown = %d hosts, want every match (404) folded or not", n)
	}
	// The cursor moves on to the next group's hosts and back onto the fold.
	a = send(t, a, keys("j")...)
	if got := a.fleet.Focused().Name; got != "db1" {
		t.Fatalf("j from the fold: focus %q, want db1", got)
	}
	a = send(t, a, keys("space", "k", "k")...) // db1 selected (the cursor moves on), back on the fold
	if got := a.fleet.Focused().Name; got != "" || !strings.HasPrefix(bodyLines(a)[0], ">▸ production") {
		t.Fatalf("k onto the fold: focus %q\n%s", got, viewText(a))
	}
	// A new probe shows at once in the folded heading.
	a = send(t, a, fleetview.RoundMsg{Round: a.status.Round(), Probes: []remote.Probe{
		{Host: "web300", At: time.Now(), Reachable: false, Class: remote.ClassUnreachable}}})
	if !strings.Contains(bodyLines(a)[0], "(4 down, 2 failing, 1 drift)") {
		t.Errorf("the fold does not follow the probes:\n%s", viewText(a))
	}
	a = send(t, a, keys("z")...)
	if got := a.fleet.Focused().Name; got != "web000" {
		t.Errorf("z on the fold: focus %q, want its first host web000", got)
	}
	if !strings.Contains(viewText(a), "web005") {
		t.Errorf("the opened group's hosts are not drawn:\n%s", viewText(a))
	}
}

// TestShiftZFoldsEveryGroup: Z folds every group, each heading counting
// its selected hosts so that a selection is never hidden; Z again opens
// them all, the cursor on the group it was on.
func TestShiftZFoldsEveryGroup(t *testing.T) {
	a := foldFleet(t)
	a = send(t, a, keys("G", "space")...) // stg-web2 selected
	a = send(t, a, keys("Z")...)
	lines := bodyLines(a)
	wants := []string{" ▸ production (protected) · web · 400 (3 down, 2 failing, 1 drift)",
		" ▸ production (protected) · db · 2", ">▸ staging · web · 2 (1 selected)"}
	for i, w := range wants {
		if strings.TrimRight(lines[i], " ") != w {
			t.Fatalf("line %d: %q, want %q\n%s", i, lines[i], w, viewText(a))
		}
	}
	if strings.TrimSpace(lines[3]) != "" {
		t.Errorf("rows under the folds:\n%s", viewText(a))
	}
	a = send(t, a, keys("g")...)
	if !strings.HasPrefix(bodyLines(a)[0], ">▸ production (protected) · web") {
		t.Errorf("g: the cursor is not on the first fold:\n%s", viewText(a))
	}
	a = send(t, a, keys("G", "Z")...)
	if got := a.fleet.Focused().Name; got != "stg-web1" {
		t.Errorf("Z again: focus %q, want stg-web1 (the group the cursor was on, opened)", got)
	}
	if v := viewText(a); strings.Contains(v, "▸") || !strings.Contains(v, "web399") {
		t.Errorf("Z again leaves groups folded:\n%s", v)
	}
}

// TestFoldsOutliveTheFilter: a folded group stays folded while a filter
// is typed and after it is cleared; its heading counts the matches.
func TestFoldsOutliveTheFilter(t *testing.T) {
	a := foldFleet(t)
	a = send(t, a, keys("z", "/", "w", "e", "b", "0", "enter")...)
	if got := bodyLines(a)[1]; !strings.HasPrefix(got, ">▸ production (protected) · web · 100 (3 down, 2 failing, 1 drift)") {
		t.Fatalf("filtered fold: %q\n%s", got, viewText(a))
	}
	a = send(t, a, keys("esc")...)
	if got := bodyLines(a)[0]; !strings.HasPrefix(got, ">▸ production (protected) · web · 400") {
		t.Fatalf("after the filter: %q\n%s", got, viewText(a))
	}
}

// TestSpaceOnAFoldSelectsTheGroup: space on a folded group selects all its
// hosts (those the filter passes), and again none of them; a selects the
// hosts of folded groups too, which their headings count.
func TestSpaceOnAFoldSelectsTheGroup(t *testing.T) {
	a := foldFleet(t)
	a = send(t, a, keys("z", "space")...)
	if n := len(a.fleet.Selected()); n != 400 {
		t.Fatalf("space on the folded web group selected %d hosts, want 400", n)
	}
	if got := strings.TrimRight(bodyLines(a)[0], " "); !strings.HasSuffix(got, "(3 down, 2 failing, 1 drift, 400 selected)") {
		t.Errorf("the fold does not count its selection: %q", got)
	}
	a = send(t, a, keys("space")...)
	if sel := a.fleet.Selected(); len(sel) != 0 {
		t.Fatalf("space again left %d hosts selected", len(sel))
	}
	// With one host of the group selected by hand, space selects the rest.
	a = send(t, a, keys("z", "j", "space", "k", "k", "z", "space")...)
	if n := len(a.fleet.Selected()); n != 400 {
		t.Errorf("space on a fold with one host selected: %d selected, want 400", n)
	}
	a = send(t, a, keys("A", "a")...)
	if n := len(a.fleet.Selected()); n != 404 {
		t.Errorf("a with a folded group selected %d hosts, want all 404", n)
	}
}
