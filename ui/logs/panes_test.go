package logs

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
)

var tabKey = tea.KeyPressMsg(tea.Key{Code: tea.KeyTab})

// paneText returns the lines of host's pane in a plain split view.
func paneText(t *testing.T, v *Model, host string) string {
	t.Helper()
	got := plainView(v)
	i := strings.Index(got, "─ "+host+" ·")
	if i < 0 {
		t.Fatalf("no pane for %s:\n%s", host, got)
	}
	rest := got[i+1:]
	if j := strings.Index(rest, "\n─ "); j >= 0 {
		rest = rest[:j]
	}
	return got[i:i+1] + rest
}

func feedN(v *Model, host string, from, to int) {
	var lines []string
	for i := from; i <= to; i++ {
		lines = append(lines, fmt.Sprintf("%s|%s line %d", host, host, i))
	}
	feed(v, lines...)
}

func TestLogsSplitPanesScrollOneAtATime(t *testing.T) {
	v := newTestLogs(t, 80, 21, 100, "web1", "web2")
	feedN(v, "web1", 1, 30)
	feedN(v, "web2", 1, 30)
	pressLogs(v, "s")
	if p := paneText(t, v, "web1"); !strings.Contains(p, "web1 line 30") || strings.Contains(p, "PAUSED") {
		t.Fatalf("web1 pane:\n%s", p)
	}
	// up scrolls the focused pane (web1) and holds it; web2 follows on.
	pressLogs(v, "up", "up")
	p := paneText(t, v, "web1")
	if strings.Contains(p, "web1 line 30") || !strings.Contains(p, "web1 line 28") || !strings.Contains(p, "PAUSED · 2 newer") {
		t.Errorf("web1 after up up:\n%s", p)
	}
	feedN(v, "web1", 31, 32)
	feedN(v, "web2", 31, 32)
	if p = paneText(t, v, "web1"); !strings.Contains(p, "web1 line 28") || strings.Contains(p, "web1 line 29") || !strings.Contains(p, "PAUSED · 4 newer") {
		t.Errorf("held web1 moved:\n%s", p)
	}
	if p = paneText(t, v, "web2"); !strings.Contains(p, "web2 line 32") || strings.Contains(p, "PAUSED") {
		t.Errorf("web2 does not follow:\n%s", p)
	}
	// pgup goes a pane further; tab moves the keys to web2.
	v.Update(tabKey)
	pressLogs(v, "up")
	if p = paneText(t, v, "web2"); !strings.Contains(p, "web2 line 31") || strings.Contains(p, "web2 line 32") {
		t.Errorf("web2 after tab up:\n%s", p)
	}
	// down to the newest row follows again.
	pressLogs(v, "down")
	if p = paneText(t, v, "web2"); !strings.Contains(p, "web2 line 32") || strings.Contains(p, "PAUSED") {
		t.Errorf("web2 after down:\n%s", p)
	}
	v.Update(tea.KeyPressMsg(tea.Key{Code: tea.KeyPgUp}))
	if p = paneText(t, v, "web2"); strings.Contains(p, "web2 line 31") || !strings.Contains(p, "PAUSED") {
		t.Errorf("web2 after pgup:\n%s", p)
	}
	// G follows everything.
	pressLogs(v, "G")
	for _, h := range []string{"web1", "web2"} {
		if p = paneText(t, v, h); !strings.Contains(p, h+" line 32") || strings.Contains(p, "PAUSED") {
			t.Errorf("%s after G:\n%s", h, p)
		}
	}
	// A global pause, then a move: only the focused pane moves.
	pressLogs(v, "f", "up")
	feedN(v, "web1", 33, 33)
	if p = paneText(t, v, "web1"); strings.Contains(p, "line 33") || !strings.Contains(p, "web1 line 32") {
		t.Errorf("web1 after pause:\n%s", p)
	}
	if p = paneText(t, v, "web2"); !strings.Contains(p, "web2 line 31") || strings.Contains(p, "web2 line 32") {
		t.Errorf("web2 after pause and up:\n%s", p)
	}
}

func TestLogsSearchInTheFocusedPane(t *testing.T) {
	v := newTestLogs(t, 120, 21, 100, "web1", "web2")
	feedN(v, "web1", 1, 30)
	feedN(v, "web2", 1, 30)
	pressLogs(v, "s")
	v.Update(tabKey)
	pressLogs(v, "/", "line 1", "enter") // web2's newest "line 1x": 19
	p := paneText(t, v, "web2")
	if !strings.Contains(p, ">") || !strings.Contains(p, "web2 line 19") || !strings.Contains(p, "PAUSED") {
		t.Fatalf("web2 after search:\n%s", p)
	}
	if cur := currentRow(p); !strings.Contains(cur, "web2 line 19") {
		t.Errorf("current match %q", cur)
	}
	if p1 := paneText(t, v, "web1"); strings.Contains(p1, "PAUSED") || !strings.Contains(p1, "web1 line 30") {
		t.Errorf("web1 moved:\n%s", p1)
	}
	pressLogs(v, "n")
	if cur := currentRow(paneText(t, v, "web2")); !strings.Contains(cur, "web2 line 18") {
		t.Errorf("n: current %q", cur)
	}
	pressLogs(v, "N", "N")
	if cur := currentRow(paneText(t, v, "web2")); !strings.Contains(cur, "web2 line 19") || !strings.Contains(plainView(v), "no newer match in web2") {
		t.Errorf("N N: current %q\n%s", cur, plainView(v))
	}
	for range 10 {
		pressLogs(v, "n")
	}
	if cur := currentRow(paneText(t, v, "web2")); !strings.Contains(cur, "web2 line 1 ") && !strings.HasSuffix(cur, "web2 line 1") {
		t.Errorf("oldest: current %q", cur)
	}
}

// currentRow returns the line of a pane marked as the current match.
func currentRow(pane string) string {
	for _, l := range strings.Split(pane, "\n") {
		if strings.HasPrefix(l, ">") {
			return strings.TrimRight(l, " ")
		}
	}
	return ""
}
