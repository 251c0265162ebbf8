package ui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	flowsview "github.com/opsui/opsui/ui/flows"
)

func TestPaletteScoreIsFuzzy(t *testing.T) {
	for _, c := range []struct {
		q, best string
	}{{"dep", "deploy"}, {"rb", "rollback"}, {"lgs", "logs"}, {"rel", "releases"}, {"r", "rollback"}, {"sh", "shell"}, {"rns", "runs"}} {
		a := footerApp(t, 120, false)
		a = send(t, a, keys(":", c.q)...)
		m, _ := a.paletteMatches()
		if len(m) == 0 || m[0].name != c.best {
			t.Errorf("%q: best %v, want %s", c.q, m, c.best)
		}
	}
	if _, ok := paletteScore("xyz", "deploy"); ok {
		t.Error("xyz matches deploy")
	}
}

// : opens the palette; a name (or part of one) and its subject, then
// enter, does what the key does, on that subject; the lines run come
// back with ctrl+p (issue 18, item 15).
func TestPaletteRunsActionsAndViews(t *testing.T) {
	base := footerApp(t, 120, false)
	a := send(t, base, keys(":")...)
	if a.mode != modePalette || !strings.Contains(viewText(a), "> deploy") {
		t.Fatalf(": mode %d\n%s", a.mode, viewText(a))
	}
	if a = send(t, a, keys("esc")...); a.mode != modeFleet {
		t.Errorf("esc: mode %d", a.mode)
	}

	a = send(t, base, keys(":", "rel", "enter")...)
	if a.mode != modeFlow || !flowsview.IsReleases(a.flows.cur) {
		t.Errorf(":rel: mode %d", a.mode)
	}
	a = send(t, base, keys(":", "deploy staging", "enter")...)
	if a.mode != modeFlow || flowsview.IsReleases(a.flows.cur) {
		t.Errorf(":deploy staging: mode %d", a.mode)
	}
	a = send(t, base, keys(":", "deploy nowhere", "enter")...)
	if a.mode != modeFleet || a.notice != "no environment nowhere" {
		t.Errorf(":deploy nowhere: mode %d notice %q", a.mode, a.notice)
	}

	a = send(t, base, keys(":", "logs web", "enter")...)
	t.Cleanup(a.stopLogs)
	if a.mode != modeLogs {
		t.Fatalf(":logs web: mode %d", a.mode)
	}
	web := 0
	for _, h := range base.fleet.Fleet().Hosts {
		if slices.Contains(h.Roles, "web") {
			web++
		}
	}
	if want := fmt.Sprintf("logs of %d hosts", web); web < 2 || !strings.Contains(viewText(a), want) {
		t.Errorf(":logs web does not follow the %d web hosts:\n%s", web, viewText(a))
	}
	a = send(t, base, keys(":", "logs nosuch", "enter")...)
	if a.mode != modeFleet || a.notice != "no host, role or environment nosuch" {
		t.Errorf(":logs nosuch: notice %q", a.notice)
	}

	a = send(t, base, keys(":", "run uptime -p", "enter")...)
	if a.mode != modeCommand || a.cmdline.input.Value() != "uptime -p" {
		t.Errorf(":run: mode %d, line %q", a.mode, a.cmdline.input.Value())
	}

	// History: the lines run, newest first with ctrl+p.
	a = send(t, base, keys(":", "rel", "enter", "esc", ":", "deploy nowhere", "enter", ":")...)
	ctrlP := tea.KeyPressMsg(tea.Key{Code: 'p', Mod: tea.ModCtrl})
	ctrlN := tea.KeyPressMsg(tea.Key{Code: 'n', Mod: tea.ModCtrl})
	a = send(t, a, ctrlP)
	if got := a.palette.input.Value(); got != "deploy nowhere" {
		t.Errorf("ctrl+p: %q", got)
	}
	a = send(t, a, ctrlP)
	if got := a.palette.input.Value(); got != "rel" {
		t.Errorf("ctrl+p twice: %q", got)
	}
	if a = send(t, a, ctrlN, ctrlN); a.palette.input.Value() != "" {
		t.Errorf("ctrl+n back to the new line: %q", a.palette.input.Value())
	}
	// tab completes the chosen name.
	a = send(t, a, keys("fl")...)
	a = send(t, a, tea.KeyPressMsg(tea.Key{Code: tea.KeyTab}))
	if got := a.palette.input.Value(); got != "flush " {
		t.Errorf("tab: %q", got)
	}
}

// Read-only: the palette lists what changes hosts as off and refuses it.
func TestPaletteSaysWhyAnEntryIsOff(t *testing.T) {
	a := send(t, footerApp(t, 120, true), keys(":")...)
	if v := viewText(a); !strings.Contains(v, "deploy") || !strings.Contains(v, "(off: read-only") {
		t.Errorf("read-only palette:\n%s", v)
	}
	a = send(t, a, keys("deploy", "enter")...)
	if a.mode != modeFleet || !strings.Contains(a.notice, "read-only") {
		t.Errorf(":deploy read-only: mode %d notice %q", a.mode, a.notice)
	}
}

// The palette fits 80x24 and 200x60 and shows its cursor without colours.
func TestPaletteFitsTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {200, 60}} {
		a := footerApp(t, size[0], false)
		a = send(t, a, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		a = send(t, a, keys(":", "l")...)
		checkPaletteFits(t, a, size[0], size[1])
		if !strings.Contains(viewText(a), "> logs") {
			t.Errorf("%dx%d: no cursor:\n%s", size[0], size[1], viewText(a))
		}
	}
}

func checkPaletteFits(t *testing.T, a App, w, h int) {
	t.Helper()
	lines := strings.Split(viewText(a), "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %d is %d wide: %q", i, n, l)
		}
	}
	if !strings.HasPrefix(lines[len(lines)-1], ":") {
		t.Errorf("the footer is not the palette's line: %q", lines[len(lines)-1])
	}
}
