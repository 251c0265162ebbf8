package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/internal/uitest"
)

// groupedFeed is a finished ad-hoc run on n hosts web01..webNN, grouping
// on; out gives each host's lines (stdout) and its exit code.
func groupedFeed(n int, out func(host string) ([]string, int)) *Feed {
	var hosts []string
	for i := 1; i <= n; i++ {
		hosts = append(hosts, fmt.Sprintf("web%02d", i))
	}
	f, _ := fixedFeed(hosts, time.Minute)
	f.Grouping()
	var res []remote.HostResult
	for _, h := range hosts {
		lines, code := out(h)
		f.Event(remote.Event{Host: h, Kind: remote.EventStarted})
		for _, l := range lines {
			kind := remote.EventStdout
			if strings.HasPrefix(l, "E:") {
				kind, l = remote.EventStderr, strings.TrimPrefix(l, "E:")
			}
			f.Event(remote.Event{Host: h, Kind: kind, Line: l})
		}
		ev := remote.Event{Host: h, Kind: remote.EventExited, Code: code, Duration: time.Second}
		hr := remote.HostResult{Host: h, Status: remote.StatusOK, Code: code, Duration: time.Second}
		if code != 0 {
			ev.Class, ev.Err = remote.ClassExit, errors.New("exit status 1")
			hr.Status, hr.Class = remote.StatusFailed, remote.ClassExit
		}
		f.Event(ev)
		res = append(res, hr)
	}
	f.Finish(remote.NewResult(res, time.Minute), nil)
	return f
}

// diskFull is the example: 40 hosts answer ok (some with
// trailing blanks, which do not count), web07 and web09 fail with a full
// disk.
func diskFull(h string) ([]string, int) {
	switch h {
	case "web07", "web09":
		return []string{"E:cp: error writing '/srv/x': No space left on device"}, 1
	case "web03":
		return []string{"ok  \r", "", "  "}, 0
	}
	return []string{"ok"}, 0
}

// trimLines drops the blanks that pad each line (the cursor's row).
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// checkFits fails when the view draws a line wider or more lines than w x h.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) > h {
		t.Errorf("%d lines in %d:\n%s", len(lines), h, view)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d wide in %d: %q", i, lw, w, l)
		}
	}
}

// Issue 18, item 18: identical outputs fold into one row, the odd ones
// first, at 80x24 and 200x60 (the console's body sizes of those screens).
func TestGroupedRunFoldsIdenticalOutputsOddOnesFirst(t *testing.T) {
	f := groupedFeed(40, diskFull)
	for _, size := range [][2]int{{80, 22}, {200, 58}} {
		v := testRunView(f, size[0], size[1])
		view := runText(v)
		checkFits(t, view, size[0], size[1])
		view = trimLines(view)
		// At 80 columns the row loses the start of the line, never its end.
		bad := strings.Index(view, "No space left on device · failed: exit 1\n")
		good := strings.Index(view, "38 hosts: ok\n")
		if size[0] == 200 && !strings.Contains(view, "> web07, web09: cp: error writing '/srv/x': No space left on device · failed: exit 1\n") {
			t.Errorf("200 columns: the whole row:\n%s", view)
		}
		if !strings.Contains(view, "2 outputs across 40 hosts · t: per-host panes") || bad < 0 || good < 0 || bad > good {
			t.Fatalf("%dx%d: the groups, failures first:\n%s", size[0], size[1], view)
		}
		// The cursor starts on the failure's group; its pane shows the
		// output in full, under its hosts' names.
		if !strings.Contains(view, "> web07, web09: ") || !strings.Contains(view, "2 hosts: web07, web09 · failed: exit 1") {
			t.Errorf("%dx%d: the cursor's group and its pane:\n%s", size[0], size[1], view)
		}
	}
}

// The cursor moves by group; t switches to the per-host panes on the
// group's first host and back; n finds the failed group.
func TestGroupedRunKeysMoveByGroupAndSwitchToPanes(t *testing.T) {
	v := testRunView(groupedFeed(40, diskFull), 80, 22)
	v = pressRun(v, "j")
	if v.Focus() != 0 || !strings.Contains(runText(v), "> 38 hosts: ok") {
		t.Fatalf("j: focus %d\n%s", v.Focus(), runText(v))
	}
	if !strings.Contains(runText(v), "38 hosts: web01, web02, web03, web04") {
		t.Errorf("the ok group's pane:\n%s", runText(v))
	}
	v = pressRun(v, "n")
	if v.Focus() != 6 {
		t.Fatalf("n: focus %d, want web07 (6)", v.Focus())
	}
	v = pressRun(v, "t")
	view := runText(v)
	if v.Grouped() || strings.Contains(view, "outputs across") || !strings.Contains(view, "> web07 failed: exit 1") {
		t.Fatalf("t: not the per-host list on web07:\n%s", view)
	}
	checkFits(t, view, 80, 22)
	v = pressRun(v, "j", "t")
	if !v.Grouped() || v.Focus() != 7 || !strings.Contains(runText(v), "> 38 hosts: ok") {
		t.Fatalf("j, t: back to the groups on web08's: focus %d\n%s", v.Focus(), runText(v))
	}
	if keys := v.KeyMap(); keys[2].Help().Desc != "per-host panes" || keys[2].Keys()[0] != "t" {
		t.Errorf("footer: %v", keys[2].Keys())
	}
}

// A feed that does not group (a flow's) never shows groups, and t does
// nothing there; a few hosts show their panes until t asks for groups.
func TestGroupsOnlyForGroupingFeeds(t *testing.T) {
	f := groupedFeed(3, diskFull)
	v := testRunView(f, 80, 22)
	if v.Grouped() {
		t.Fatal("3 hosts fit the grid: panes first")
	}
	if v = pressRun(v, "t"); !v.Grouped() || !strings.Contains(runText(v), "1 output across 3 hosts") {
		t.Fatalf("t did not group:\n%s", runText(v))
	}
	plain, _ := fixedFeed([]string{"a", "b", "c", "d", "e", "f"}, time.Second)
	if v := pressRun(testRunView(plain, 80, 22), "t"); v.Grouped() {
		t.Fatal("a flow's feed grouped")
	}
}

// Groups follow the output as it arrives: a host moves when its output
// parts from its group's and back when it joins another's; stdout and
// stderr are kept apart, so their interleaving does not split a group;
// trailing whitespace does not count, blank lines inside do.
func TestGroupsAreKeptAsLinesArrive(t *testing.T) {
	f, _ := fixedFeed([]string{"a", "b", "c"}, time.Second)
	f.Grouping()
	line := func(h string, kind remote.EventKind, s string) { f.Event(remote.Event{Host: h, Kind: kind, Line: s}) }
	sizes := func() []int {
		var out []int
		for _, g := range f.groupsSnapshot() {
			out = append(out, len(g.members))
		}
		return out
	}
	if got := fmt.Sprint(sizes()); got != "[3]" {
		t.Fatalf("before any output: %s", got)
	}
	for _, h := range []string{"a", "b", "c"} {
		f.Event(remote.Event{Host: h, Kind: remote.EventStarted})
		line(h, remote.EventStdout, "step 1")
	}
	line("b", remote.EventStdout, "step 2")
	if got := fmt.Sprint(sizes()); got != "[1 2]" {
		t.Fatalf("b went on: %s", got)
	}
	line("a", remote.EventStdout, "step 2   ")
	line("c", remote.EventStdout, "step 2")
	if got := fmt.Sprint(sizes()); got != "[3]" {
		t.Fatalf("all at step 2: %s", got)
	}
	// a: out then err; b: err then out; c: a blank line first, inside.
	line("a", remote.EventStdout, "done")
	line("a", remote.EventStderr, "warning")
	line("b", remote.EventStderr, "warning")
	line("b", remote.EventStdout, "done")
	line("c", remote.EventStdout, "")
	line("c", remote.EventStdout, "done")
	line("c", remote.EventStderr, "warning")
	line("a", remote.EventStdout, "")
	if got := fmt.Sprint(sizes()); got != "[1 2]" {
		t.Fatalf("a and b alike, c's blank line inside: %s", got)
	}
	for _, h := range []string{"a", "b"} {
		f.Event(remote.Event{Host: h, Kind: remote.EventExited})
	}
	groups := f.groupsSnapshot()
	if len(groups) != 2 || groups[0].state != "running" || groups[1].state != "ok" || fmt.Sprint(groups[1].members) != "[0 1]" {
		t.Fatalf("a and b ended well, c runs: %+v", groups)
	}
}

// More distinct outputs than groupMax: the rest fold into one group
// that says so, and the view lists it last.
func TestGroupsAreCapped(t *testing.T) {
	n := groupMax + 44
	f := groupedFeed(n, func(h string) ([]string, int) { return []string{"I am " + h}, 0 })
	groups := f.groupsSnapshot()
	last := groups[len(groups)-1]
	if len(groups) != groupMax+1 || !last.overflow || len(last.members) != 44 {
		t.Fatalf("%d groups, the last %+v", len(groups), last)
	}
	v := testRunView(f, 200, 58)
	v.focus, v.cursorSet = last.members[0], true // as if moved there
	view := runText(v)
	if !strings.Contains(view, fmt.Sprintf("> 44 hosts with outputs of their own (more than %d different outputs): t shows each host", groupMax)) {
		t.Fatalf("the overflow row:\n%s", view)
	}
	checkFits(t, view, 200, 58)
}

// Issue 18, item 19: the staged run's question, and its answers; held
// hosts say so; Enter answers nothing.
func TestStagedRunAsksToContinue(t *testing.T) {
	hosts := []string{"web01", "web02", "web03", "web04", "web05", "web06"}
	f, _ := fixedFeed(hosts, time.Second)
	f.Grouping()
	f.Hold(hosts[1:])
	f.Event(remote.Event{Host: "web01", Kind: remote.EventStarted})
	f.Event(remote.Event{Host: "web01", Kind: remote.EventStdout, Line: "Filesystem 93% used"})
	f.Event(remote.Event{Host: "web01", Kind: remote.EventExited, Duration: time.Second})
	for _, size := range [][2]int{{80, 22}, {200, 58}} {
		v := testRunView(f, size[0], size[1])
		v.AskContinue("web01", 5)
		view := runText(v)
		checkFits(t, view, size[0], size[1])
		if !strings.Contains(view, "web01 ended well. y: run on the other 5 hosts · c: abort, they never run") ||
			!strings.Contains(view, "5 hosts: (no output yet) · waiting") {
			t.Fatalf("%dx%d: the question:\n%s", size[0], size[1], view)
		}
		if v := pressRun(v, "t"); !strings.Contains(runText(v), "web02 held back") {
			t.Fatalf("held hosts:\n%s", runText(v))
		}
	}
	v := testRunView(f, 80, 22)
	v.AskContinue("web01", 5)
	for _, k := range []string{"enter", "j", "esc"} {
		var cmd tea.Cmd
		v, cmd = v.Update(keys(k)[0])
		if cmd != nil || !v.AskingContinue() {
			t.Fatalf("%s answered the question", k)
		}
	}
	for _, c := range []struct {
		key string
		go_ bool
	}{{"y", true}, {"c", false}} {
		v := testRunView(f, 80, 22)
		v.AskContinue("web01", 5)
		v, cmd := v.Update(keys(c.key)[0])
		if cmd == nil || v.AskingContinue() {
			t.Fatalf("%s: no answer", c.key)
		}
		if msg := cmd().(ContinueMsg); msg.ID != 1 || msg.Go != c.go_ {
			t.Errorf("%s: %+v", c.key, msg)
		}
		if v.Asking() {
			t.Errorf("%s asked to cancel as well", c.key)
		}
	}
}

// A click on a group's row moves the cursor there.
func TestGroupedRunClickPicksAGroup(t *testing.T) {
	v := testRunView(groupedFeed(40, diskFull), 80, 22)
	// Row 0 is the summary, 1 the groups' heading, 2 web07's and web09's
	// group, 3 the 38 hosts'.
	v, _ = v.Update(tea.MouseClickMsg(tea.Mouse{X: 5, Y: 3, Button: tea.MouseLeft}))
	if v.Focus() != 0 || !strings.Contains(runText(v), "> 38 hosts: ok") {
		t.Fatalf("click on the second group: focus %d\n%s", v.Focus(), runText(v))
	}
	v, _ = v.Update(tea.MouseClickMsg(tea.Mouse{X: 5, Y: 2, Button: tea.MouseLeft}))
	if v.Focus() != 6 {
		t.Fatalf("click on the first group: focus %d", v.Focus())
	}
}

// The replay of an ad-hoc run groups its hosts as the live run did; a
// deploy's does not, nor a replay that read only part of an output.
func TestReplayOfACommandIsGrouped(t *testing.T) {
	zero, one := 0, 1
	var hosts []uitest.HostOut
	for i := 1; i <= 6; i++ {
		h := store.RunHost{Host: fmt.Sprintf("web%d", i), Status: "ok", ExitCode: &zero}
		out := []ops.OutputChunk{chunk("stdout", "disk ok  \n\n")}
		if i == 4 {
			h.Status, h.ExitCode, h.ErrorClass = "failed", &one, "command-failed"
			out = []ops.OutputChunk{chunk("stderr", "No space left on device\n")}
		}
		hosts = append(hosts, hostOut(h, out))
	}
	run := store.Run{ID: 7, Kind: store.KindExec, Command: "df -h /"}
	f, err := replayFeed(context.Background(), recorded(run, hosts...))
	if err != nil {
		t.Fatal(err)
	}
	view := trimLines(runText(testRunView(f, 80, 22)))
	if !strings.Contains(view, "2 outputs across 6 hosts") || !strings.Contains(view, "> web4: No space left on device · failed: exit 1") ||
		!strings.Contains(view, "  5 hosts: disk ok") {
		t.Fatalf("the replay's groups:\n%s", view)
	}
	run.Kind = "deploy"
	if f, _ := replayFeed(context.Background(), recorded(run, hosts...)); f.Grouped() {
		t.Error("a deploy's replay grouped")
	}
	run.Kind = store.KindExec
	hosts[0].Out = append([]ops.OutputChunk{{Chunk: store.Chunk{Stream: "stdout", Data: []byte("disk ok\n")}, Skipped: 4096}}, hosts[0].Out[1:]...)
	if f, _ := replayFeed(context.Background(), recorded(run, hosts...)); f.Grouped() {
		t.Error("a replay of part of an output grouped")
	}
}

// While nothing moved the cursor, it stays on the worst group as results
// come in; an answer or a scroll does not take it, a move does.
func TestGroupedCursorFollowsTheWorstUntilMoved(t *testing.T) {
	hosts := []string{"web01", "web02", "web03", "web04", "web05", "web06"}
	f, _ := fixedFeed(hosts, time.Second)
	f.Grouping()
	f.Hold(hosts[1:])
	f.Event(remote.Event{Host: "web01", Kind: remote.EventStdout, Line: "ok"})
	f.Event(remote.Event{Host: "web01", Kind: remote.EventExited})
	v := testRunView(f, 80, 22)
	v.AskContinue("web01", 5)
	if view := runText(v); !strings.Contains(view, "> web01: ok") {
		t.Fatalf("the question: the cursor is not on the first host's result:\n%s", view)
	}
	v, _ = v.Update(keys("y")[0])
	v = pressRun(v, "pgup")
	f.Event(remote.Event{Host: "web04", Kind: remote.EventStderr, Line: "No space left on device"})
	f.Event(remote.Event{Host: "web04", Kind: remote.EventExited, Code: 1})
	if view := runText(v); !strings.Contains(view, "> web04: No space left on device · failed: exit 1") {
		t.Fatalf("a failure did not take the cursor:\n%s", view)
	}
	v = pressRun(v, "j")
	f.Event(remote.Event{Host: "web05", Kind: remote.EventExited, Code: 2})
	if view := runText(v); !strings.Contains(view, "> web01: ok") {
		t.Fatalf("moved by the operator, the cursor went elsewhere:\n%s", view)
	}
}
