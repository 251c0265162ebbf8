package logs

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// newTestLogs returns a logs view on hosts, w x h, without colour.
func newTestLogs(t *testing.T, w, h, perHost int, hosts ...string) *Model {
	t.Helper()
	ctx := common.NewContext(themes.Dark().WithoutColor())
	v := New(ctx, DefaultKeyMap(), 1, hosts, perHost)
	v.SetSize(w, h)
	return v
}

var logsT0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

// feed adds lines "host|text" to the view's buffer and takes them in.
func feed(v *Model, lines ...string) {
	for i, s := range lines {
		host, text, _ := strings.Cut(s, "|")
		v.buf.Add(logs.Line{Host: host, File: "/var/log/app.log", Time: logsT0.Add(time.Duration(i) * time.Second),
			Text: text, Level: logs.DetectLevel(text)})
	}
	v.Update(TickMsg{ID: v.id})
}

func pressLogs(v *Model, names ...string) {
	for _, m := range keys(names...) {
		v.Update(m)
	}
}

func plainView(v *Model) string { return ansi.Strip(v.View()) }

// keys turns names into key presses: a special key by name, else each
// rune typed (as ui's tests do).
func keys(names ...string) []tea.Msg {
	special := map[string]tea.Key{
		"space": {Code: tea.KeySpace, Text: " "}, "enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape},
		"down": {Code: tea.KeyDown}, "up": {Code: tea.KeyUp}, "tab": {Code: tea.KeyTab},
	}
	var out []tea.Msg
	for _, n := range names {
		if k, ok := special[n]; ok {
			out = append(out, tea.KeyPressMsg(k))
			continue
		}
		for _, r := range n {
			out = append(out, tea.KeyPressMsg(tea.Key{Code: r, Text: string(r)}))
		}
	}
	return out
}

func TestLogsMergedShowsHostTimeAndText(t *testing.T) {
	v := newTestLogs(t, 80, 10, 100, "web1", "web2")
	feed(v, "web1|GET / 200", "web2|ERROR boom", "web1|WARNING slow")
	got := plainView(v)
	for _, want := range []string{"10:00:00 web1 │ GET / 200", "10:00:01 web2 │ ERROR boom", "10:00:02 web1 │ WARNING slow", "following", "3 lines"} {
		if !strings.Contains(got, want) {
			t.Errorf("view lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n > 10 {
		t.Errorf("%d lines drawn in a height of 10", n)
	}
}

func TestLogsFilterAppliesLiveAndClears(t *testing.T) {
	v := newTestLogs(t, 80, 12, 100, "web1", "web2")
	feed(v, "web1|GET / 200", "web2|ERROR boom", "web1|all fine", "web2|Error again")
	pressLogs(v, "&", "error")
	got := plainView(v)
	if strings.Contains(got, "GET /") || strings.Contains(got, "all fine") || !strings.Contains(got, "ERROR boom") || !strings.Contains(got, "Error again") {
		t.Errorf("plain filter error, live:\n%s", got)
	}
	pressLogs(v, "enter")
	feed(v, "web1|new ERROR", "web1|new ok") // lines arriving later are filtered too
	got = plainView(v)
	if !strings.Contains(got, "new ERROR") || strings.Contains(got, "new ok") || !strings.Contains(got, "filter: error") {
		t.Errorf("after more lines:\n%s", got)
	}
	// A regex filter: ctrl+r while typing.
	pressLogs(v, "&")
	v.Update(tea.KeyPressMsg(tea.Key{Code: 'r', Mod: tea.ModCtrl}))
	for range len("error") {
		v.Update(tea.KeyPressMsg(tea.Key{Code: tea.KeyBackspace}))
	}
	pressLogs(v, "^(GET|all)", "enter")
	got = plainView(v)
	if !strings.Contains(got, "GET / 200") || !strings.Contains(got, "all fine") || strings.Contains(got, "boom") {
		t.Errorf("regex filter:\n%s", got)
	}
	pressLogs(v, "&", "esc") // esc clears the filter
	if got = plainView(v); !strings.Contains(got, "boom") || !strings.Contains(got, "GET /") {
		t.Errorf("cleared filter:\n%s", got)
	}
}

func TestLogsPauseCountsNewLines(t *testing.T) {
	v := newTestLogs(t, 80, 6, 100, "web1")
	feed(v, "web1|one", "web1|two")
	pressLogs(v, "f")
	feed(v, "web1|three", "web1|four", "web1|five", "web1|six", "web1|seven")
	got := plainView(v)
	if !strings.Contains(got, "PAUSED · 5 new") || strings.Contains(got, "seven") || !strings.Contains(got, "two") {
		t.Errorf("paused view:\n%s", got)
	}
	pressLogs(v, "f")
	if got = plainView(v); !strings.Contains(got, "seven") || strings.Contains(got, "PAUSED") {
		t.Errorf("following again:\n%s", got)
	}
}

func TestLogsSplitHasAPanePerHost(t *testing.T) {
	v := newTestLogs(t, 80, 20, 100, "web1", "web2")
	feed(v, "web1|from one", "web2|from two")
	pressLogs(v, "s")
	got := plainView(v)
	i1, i2 := strings.Index(got, "─ web1 · 1 lines"), strings.Index(got, "─ web2 · 1 lines")
	if i1 < 0 || i2 < 0 || !strings.Contains(got, "from one") || !strings.Contains(got, "from two") {
		t.Fatalf("split view:\n%s", got)
	}
	if j := strings.Index(got, "from two"); j < i2 {
		t.Errorf("web2's line is not in its pane:\n%s", got)
	}
	pressLogs(v, "s")
	if got = plainView(v); !strings.Contains(got, "web2 │ from two") {
		t.Errorf("merged again:\n%s", got)
	}
}

func TestLogsSearchNextPrevious(t *testing.T) {
	v := newTestLogs(t, 80, 8, 1000, "web1")
	var lines []string
	for i := range 100 {
		if i == 10 || i == 50 {
			lines = append(lines, fmt.Sprintf("web1|line %d needle", i))
		} else {
			lines = append(lines, fmt.Sprintf("web1|line %d", i))
		}
	}
	feed(v, lines...)
	pressLogs(v, "/", "needle", "enter")
	got := plainView(v)
	if !strings.Contains(got, ">10:00:50") || !strings.Contains(got, "line 50 needle") || !strings.Contains(got, "PAUSED") {
		t.Fatalf("first match (the newest):\n%q", got)
	}
	pressLogs(v, "n")
	if got = plainView(v); !strings.Contains(got, "line 10 needle") || !strings.Contains(got, ">10:00:10") {
		t.Fatalf("next (older) match:\n%s", got)
	}
	pressLogs(v, "n")
	if got = plainView(v); !strings.Contains(got, "no older match") {
		t.Errorf("past the oldest match:\n%s", got)
	}
	pressLogs(v, "N")
	if got = plainView(v); !strings.Contains(got, "line 50 needle") {
		t.Errorf("previous (newer) match:\n%s", got)
	}
	pressLogs(v, "G")
	if got = plainView(v); !strings.Contains(got, "line 99") || !strings.Contains(got, "following") {
		t.Errorf("G follows again:\n%s", got)
	}
}

func TestLogsSearchHighlightsMatches(t *testing.T) {
	ctx := common.NewContext(themes.Dark())
	v := New(ctx, DefaultKeyMap(), 1, []string{"web1"}, 10)
	v.SetSize(80, 6)
	feed(v, "web1|a needle here")
	pressLogs(v, "/", "needle", "enter")
	if got := v.View(); !strings.Contains(got, "\x1b[7m") && !strings.Contains(got, ";7m") {
		t.Errorf("no reversed highlight in %q", got)
	}
}

func TestLogsErrorsPanelAndMarkers(t *testing.T) {
	v := newTestLogs(t, 160, 20, 100, "web1", "web2")
	feed(v, "web1|ERROR db down", "web2|ERROR db down", "web2|Traceback (most recent call last):",
		`web2|  File "/app/views.py", line 3, in index`, "web2|    1/0", "web2|ZeroDivisionError: division by zero", "web1|ok")
	v.buf.Add(logs.Line{Host: "web2", File: "/var/log/app.log", Time: logsT0, Kind: logs.KindDropped, Text: "connection lost (eof); retrying in 1s"})
	v.Update(TickMsg{ID: v.id})
	pressLogs(v, "e")
	got := plainView(v)
	for _, want := range []string{"top errors (2 groups)", "2  web1,web2", "ERROR db down", "Traceback: ZeroDivisionError: division by zero ← File \"/app/views.py\", line 3, in index: 1/0",
		"── app.log: connection lost (eof); retrying in 1s ──", "web2 down"} {
		if !strings.Contains(got, want) {
			t.Errorf("view lacks %q:\n%s", want, got)
		}
	}
}

func TestLogsWrap(t *testing.T) {
	v := newTestLogs(t, 40, 8, 10, "web1")
	feed(v, "web1|"+strings.Repeat("x", 60)+"END")
	if got := plainView(v); strings.Contains(got, "END") || !strings.Contains(got, "…") {
		t.Errorf("clipped:\n%s", got)
	}
	pressLogs(v, "w")
	if got := plainView(v); !strings.Contains(got, "END") {
		t.Errorf("wrapped:\n%s", got)
	}
	for _, l := range strings.Split(plainView(v), "\n") {
		if ansi.StringWidth(l) > 40 {
			t.Errorf("line wider than 40: %q", l)
		}
	}
}

func TestLogsMemoryIsBounded(t *testing.T) {
	v := newTestLogs(t, 80, 10, 50, "web1", "web2")
	for i := range 5000 {
		v.buf.Add(logs.Line{Host: fmt.Sprintf("web%d", i%2+1), Text: fmt.Sprint(i)})
		if i%700 == 0 {
			v.Update(TickMsg{ID: v.id})
		}
	}
	v.Update(TickMsg{ID: v.id})
	if n := v.rowsLen(); n != 100 {
		t.Errorf("%d rows kept, want 100 (50 per host)", n)
	}
	if got := plainView(v); !strings.Contains(got, "4999") {
		t.Errorf("newest line missing:\n%s", got)
	}
}

// Without a filter the merged rows are the buffer's lines up to the last
// tick, not a copy; a filter keeps its own rows, dropped when cleared.
func TestLogsShareTheBufferWithoutFilter(t *testing.T) {
	v := newTestLogs(t, 80, 10, 100, "web1", "web2")
	feed(v, "web1|one", "web2|ERROR two")
	if v.rows != nil {
		t.Fatal("the view keeps a copy of the buffer")
	}
	v.buf.Add(logs.Line{Host: "web1", Time: logsT0, Text: "not taken yet"})
	if got := plainView(v); strings.Contains(got, "not taken yet") || !strings.Contains(got, "ERROR two") || !strings.Contains(got, "2 lines") {
		t.Errorf("before the tick:\n%s", got)
	}
	pressLogs(v, "&", "error", "enter")
	if v.rows == nil || v.rowsLen() != 1 {
		t.Fatalf("filtered rows: %v", v.rows)
	}
	pressLogs(v, "&", "esc")
	if got := plainView(v); v.rows != nil || !strings.Contains(got, "not taken yet") || !strings.Contains(got, "3 lines") {
		t.Errorf("cleared filter (rows %v):\n%s", v.rows, got)
	}
}
