package run

import (
	"errors"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ops/remote"
)

// incidentFeed is two web hosts of a deploy whose health check failed on
// web1 and which were switched back: the lines that explain it are longer
// than any pane at 80 columns.
const (
	currentLine = "current: /srv/shop/releases/20261204231751 -> /srv/shop/releases/20261204231800"
	reasonLine  = "http://127.0.200.1:8000/health/ answered HTTP 500 after 30 tries: broken release=20261204231800 commit=edc515f805d2 END"
)

func incidentFeed() *Feed {
	f, start := fixedFeed([]string{"web1", "web2"}, 40e9)
	for _, h := range []string{"web1", "web2"} {
		f.Event(remote.Event{Host: h, Kind: remote.EventStage, Time: start, Line: "switch", Step: 8, Steps: 10})
		f.Event(remote.Event{Host: h, Kind: remote.EventStdout, Line: currentLine})
	}
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Time: start, Line: "health", Step: 9, Steps: 10})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStderr, Line: reasonLine})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventExited, Code: 1, Class: remote.ClassExit, Err: errors.New("health: " + reasonLine)})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Time: start, Line: "rollback: health"})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventFailed, Class: remote.ClassExit,
		Err: errors.New("health: " + reasonLine + "; rolled back to 20261204231751: healthy")})
	return f
}

// joined is the view's text with each pane's rows run together: wrapped
// text reads as one line again (borders and padding dropped).
func joined(view string) string {
	var b strings.Builder
	for _, l := range strings.Split(view, "\n") {
		l = strings.Trim(l, "┃│ ")
		if i := strings.IndexAny(l, "┃│"); i >= 0 {
			l = l[:i] // the first pane of a row
		}
		b.WriteString(strings.TrimSpace(l))
	}
	return b.String()
}

func checkWidth(t *testing.T, view string, w int) {
	t.Helper()
	for i, l := range strings.Split(view, "\n") {
		if ansi.StringWidth(l) > w {
			t.Errorf("line %d is %d wide, more than %d: %q", i, ansi.StringWidth(l), w, l)
		}
	}
}

// TestRunPaneLongLines: at 80x24 a long line is cut; w wraps it so all of
// it is on screen, → scrolls a cut line sideways to its end, + zooms the
// focused pane to the whole view (esc unzooms), v shows the selected line
// in full. The failure reads against the step that failed, not the
// rollback after it.
func TestRunPaneLongLines(t *testing.T) {
	v := testRunView(incidentFeed(), 80, 24)
	view := runText(v)
	checkWidth(t, view, 80)
	if strings.Contains(view, "END") {
		t.Fatalf("the long line fits without wrapping? the test needs a longer one:\n%s", view)
	}
	if !strings.Contains(view, "web1 · failed at health") || strings.Contains(view, "rollback: health") {
		t.Errorf("web1's failure is not said against its health step:\n%s", view)
	}

	wrapped := pressRun(v, "w")
	view = runText(wrapped)
	checkWidth(t, view, 80)
	if !strings.Contains(joined(view), "commit=edc515f805d2 END") || !strings.Contains(view, "wrap") {
		t.Errorf("w does not wrap the reason onto the screen:\n%s", view)
	}
	if back := runText(pressRun(wrapped, "w")); strings.Contains(back, "END") {
		t.Errorf("w again does not cut the lines again:\n%s", back)
	}

	right := v
	for range 6 {
		right = pressRun(right, "l")
	}
	view = runText(right)
	checkWidth(t, view, 80)
	if !strings.Contains(view, "END") || !strings.Contains(view, "from column 97") {
		t.Errorf("→ does not scroll the lines sideways:\n%s", view)
	}
	if view := runText(pressRun(right, "hhhhhhh")); strings.Contains(view, "from column") {
		t.Errorf("← does not come back to the first column:\n%s", view)
	}
	if n := pressRun(wrapped, "l"); !strings.Contains(runText(n), "lines are wrapped") {
		t.Errorf("→ on wrapped lines says nothing:\n%s", runText(n))
	}

	zoomed := pressRun(v, "+")
	view = runText(zoomed)
	checkWidth(t, view, 80)
	if strings.Contains(view, "web2") || !strings.Contains(view, "zoomed (+ back)") || strings.Count(view, "\n") != 23 {
		t.Errorf("+ does not give web1 the whole view:\n%s", view)
	}
	if !zoomed.Zoomed() || pressRun(zoomed, "esc").Zoomed() || pressRun(zoomed, "+").Zoomed() {
		t.Error("esc or + does not unzoom")
	}

	whole := pressRun(v, "v")
	view = runText(whole)
	checkWidth(t, view, 80)
	if !strings.Contains(joined(view), "commit=edc515f805d2 END; rolled back to 20261204231751: healthy") {
		t.Errorf("v does not show the selected line (the failure) in full:\n%s", view)
	}
}

// TestRunPaneLongLinesAt200x60: the same run at 200x60 draws no line too
// wide in any mode.
func TestRunPaneLongLinesAt200x60(t *testing.T) {
	v := testRunView(incidentFeed(), 200, 60)
	for _, keys := range [][]string{nil, {"w"}, {"ll"}, {"+"}, {"v"}, {"+", "w", "v"}} {
		checkWidth(t, runText(pressRun(v, keys...)), 200)
	}
}

// TestReplayHasTheLineKeys: a replay is a run view: the same keys wrap
// and zoom it.
func TestReplayHasTheLineKeys(t *testing.T) {
	f := incidentFeed()
	f.SetTitle("run 9 (recorded)")
	v := pressRun(testRunView(f, 80, 24), "+", "w")
	if view := runText(v); !strings.Contains(joined(view), "END") || !strings.Contains(view, "zoomed") {
		t.Errorf("replay: %s", view)
	}
}
