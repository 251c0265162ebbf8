package run

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// fixedFeed is a run of hosts whose clock stands still at start+at, so
// times in the view are exact.
func fixedFeed(hosts []string, at time.Duration) (*Feed, time.Time) {
	start := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	f := NewFeed(1, "deploy main", hosts)
	f.started = start
	f.now = func() time.Time { return start.Add(at) }
	return f, start
}

func testRunView(f *Feed, w, h int) Model {
	v := New(common.NewContext(themes.Dark().WithoutColor()), testKeys(), f)
	v.width, v.height = w, h
	return v
}

func runText(v Model) string { return ansi.Strip(v.View()) }

func pressRun(v Model, names ...string) Model {
	for _, m := range keys(names...) {
		v, _ = v.Update(m)
	}
	return v
}

func TestRunViewShowsStagesUploadsAndSummary(t *testing.T) {
	f, start := fixedFeed([]string{"web1", "web2"}, 90*time.Second)
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Time: start, Line: "upload", Step: 2, Steps: 7})
	f.Event(remote.Event{Host: "web1", Kind: remote.EventProgress, Bytes: 3 << 20, Total: 4 << 20})
	f.Event(remote.Event{Host: "web2", Kind: remote.EventStage, Time: start.Add(10 * time.Second), Line: "migrate", Step: 5, Steps: 7})
	f.Event(remote.Event{Host: "web2", Kind: remote.EventStdout, Line: "Applying shop.0002... OK"})
	view := runText(testRunView(f, 120, 30))
	for _, want := range []string{
		"run 1 · deploy main · 0/2 done (0 ok, 0 failed), 2 running · elapsed 1m30s · slowest web1 1m30s",
		"web1 · running · 2/7 upload · upload 3.0 MB/4.0 MB 75%",
		"web2 · running · 5/7 migrate",
		"Applying shop.0002... OK",
	} {
		if !strings.Contains(view, want) {
			t.Errorf("run view lacks %q:\n%s", want, view)
		}
	}
	// The upload is a stage of its own: the next stage drops its bytes.
	f.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Time: start, Line: "unpack", Step: 3, Steps: 7})
	f.Event(remote.Event{Host: "web2", Kind: remote.EventFailed, Class: remote.ClassExit, Err: errors.New("exit status 1"), Duration: 20 * time.Second})
	view = runText(testRunView(f, 120, 30))
	if strings.Contains(view, "upload 3.0 MB") || !strings.Contains(view, "web1 · running · 3/7 unpack") {
		t.Errorf("the upload outlived its stage:\n%s", view)
	}
	if !strings.Contains(view, "1/2 done (0 ok, 1 failed), 1 running") || !strings.Contains(view, "web2 · failed at migrate") {
		t.Errorf("a failed host:\n%s", view)
	}
}

func TestRunListRowsShowStepsAndFailures(t *testing.T) {
	var hosts []string
	for i := range 8 {
		hosts = append(hosts, fmt.Sprintf("web%d", i))
	}
	f, start := fixedFeed(hosts, time.Minute)
	for i, h := range hosts {
		f.Event(remote.Event{Host: h, Kind: remote.EventStage, Time: start, Line: "unpack", Step: 3, Steps: 7})
		switch i {
		case 2:
			f.Event(remote.Event{Host: h, Kind: remote.EventProgress, Bytes: 512, Total: 2048})
		case 5:
			f.Event(remote.Event{Host: h, Kind: remote.EventFailed, Class: remote.ClassTimeout, Err: errors.New("deadline")})
		case 6:
			f.Event(remote.Event{Host: h, Kind: remote.EventExited, Duration: 2 * time.Second})
		}
	}
	view := runText(testRunView(f, 160, 30))
	for _, want := range []string{"web0 3/7 unpack", "web2 3/7 unpack · upload 512 B/2.0 KB 25%",
		"web5 failed at unpack: timeout: deadline", "web6 ok 2s", "2/8 done (1 ok, 1 failed), 6 running"} {
		if !strings.Contains(view, want) {
			t.Errorf("list lacks %q:\n%s", want, view)
		}
	}
}

func TestNextAndPreviousFailedHost(t *testing.T) {
	var hosts []string
	for i := range 10 {
		hosts = append(hosts, fmt.Sprintf("h%d", i))
	}
	f, _ := fixedFeed(hosts, time.Second)
	v := testRunView(f, 120, 30)
	v = pressRun(v, "n")
	if v.focus != 0 || !strings.Contains(runText(v), "no failed host") {
		t.Errorf("n without failures: focus %d\n%s", v.focus, runText(v))
	}
	for _, h := range []string{"h3", "h7"} {
		f.Event(remote.Event{Host: h, Kind: remote.EventExited, Code: 1})
	}
	if v = pressRun(v, "n"); v.focus != 3 {
		t.Errorf("n: focus %d, want 3", v.focus)
	}
	if strings.Contains(runText(v), "no failed host") {
		t.Error("the note outlived its key")
	}
	if v = pressRun(v, "n"); v.focus != 7 {
		t.Errorf("n n: focus %d, want 7", v.focus)
	}
	if v = pressRun(v, "n"); v.focus != 3 {
		t.Errorf("n wraps: focus %d, want 3", v.focus)
	}
	if v = pressRun(v, "p"); v.focus != 7 {
		t.Errorf("p wraps back: focus %d, want 7", v.focus)
	}
}

func TestFollowAndScrolling(t *testing.T) {
	f, _ := fixedFeed([]string{"web1"}, time.Second)
	push := func(from, to int) {
		for i := from; i < to; i++ {
			f.Event(remote.Event{Host: "web1", Kind: remote.EventStdout, Line: fmt.Sprintf("line %03d", i)})
		}
	}
	push(0, 100)
	v := testRunView(f, 80, 14) // summary, then a pane of 14-1-3 = 10 lines
	if view := runText(v); !strings.Contains(view, "line 099") || strings.Contains(view, "line 089") {
		t.Fatalf("following shows the end:\n%s", view)
	}
	v = pressRun(v, "pgup")
	view := runText(v)
	if !v.scrolled || strings.Contains(view, "line 099") || !strings.Contains(view, "paused (f follows)") {
		t.Fatalf("page up did not pause:\n%s", view)
	}
	top := v.top
	push(100, 150) // new output does not move what is read
	if v.top != top || strings.Contains(runText(v), "line 149") {
		t.Errorf("a paused pane moved with new output:\n%s", runText(v))
	}
	v = pressRun(v, "f")
	if view := runText(v); v.scrolled || !strings.Contains(view, "line 149") {
		t.Errorf("f did not follow again:\n%s", view)
	}
	v = pressRun(v, "f") // pause where it is
	if !v.scrolled || !strings.Contains(runText(v), "line 149") {
		t.Errorf("f pauses at the end:\n%s", runText(v))
	}
	v = pressRun(v, "g")
	if view := runText(v); !strings.Contains(view, "line 000") {
		t.Errorf("g did not go to the first line:\n%s", view)
	}
	// The wheel: up scrolls, down to the end follows again.
	v = pressRun(v, "G")
	v, _ = v.Update(tea.MouseWheelMsg{X: 40, Y: 5, Button: tea.MouseWheelUp})
	if !v.scrolled {
		t.Error("wheel up did not pause")
	}
	v, _ = v.Update(tea.MouseWheelMsg{X: 40, Y: 5, Button: tea.MouseWheelDown})
	if v.scrolled {
		t.Error("wheel down to the end did not follow again")
	}
}

func TestRunViewMouseFocusesHosts(t *testing.T) {
	var hosts []string
	for i := range 8 {
		hosts = append(hosts, fmt.Sprintf("web%d", i))
	}
	f, _ := fixedFeed(hosts, time.Second)
	v := testRunView(f, 120, 30)
	v, _ = v.Update(tea.MouseClickMsg{X: 2, Y: 1 + 4, Button: tea.MouseLeft}) // the summary line, then rows
	if v.focus != 4 {
		t.Errorf("click on web4's row: focus %d", v.focus)
	}
	v, _ = v.Update(tea.MouseWheelMsg{X: 2, Y: 3, Button: tea.MouseWheelDown})
	if v.focus != 5 {
		t.Errorf("wheel over the list: focus %d, want 5", v.focus)
	}
	g, _ := fixedFeed([]string{"a", "b", "c", "d"}, time.Second)
	grid := testRunView(g, 120, 31) // 2x2 panes of 15 lines, 60 wide
	grid, _ = grid.Update(tea.MouseClickMsg{X: 70, Y: 1 + 20, Button: tea.MouseLeft})
	if grid.focus != 3 {
		t.Errorf("click on the bottom right pane: focus %d", grid.focus)
	}
}
