package logs

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
)

// tailEnv is a fleet of real sshd hosts, each with its own home where the
// test writes the log files the hosts' tail reads.
type tailEnv struct {
	fleet   *sshtest.Fleet
	pool    *remote.Pool
	targets []remote.Target
}

func newTailEnv(t *testing.T, n int) *tailEnv {
	t.Helper()
	f := sshtest.Start(t, n)
	if !f.Isolated {
		t.Skip("needs isolated hosts (root): the test writes each host's files in its own home")
	}
	p := remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 5 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	e := &tailEnv{fleet: f, pool: p}
	for _, h := range f.Hosts {
		e.targets = append(e.targets, remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	return e
}

// appendLines appends the lines to file name in host i's home.
func (e *tailEnv) appendLines(t *testing.T, i int, name string, lines ...string) {
	t.Helper()
	fh, err := os.OpenFile(filepath.Join(e.fleet.Hosts[i].Home, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

func (e *tailEnv) path(i int, name string) string { return filepath.Join(e.fleet.Hosts[i].Home, name) }

// collector keeps every line Tail emits.
type collector struct {
	mu    sync.Mutex
	lines []Line
}

func (c *collector) emit(l Line) {
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.mu.Unlock()
}

// of returns the texts of host's lines of the given kinds, in order.
func (c *collector) of(host string, kinds ...Kind) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.Host == host && (len(kinds) == 0 || containsKind(kinds, l.Kind)) {
			out = append(out, l.Text)
		}
	}
	return out
}

func containsKind(ks []Kind, k Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

// waitFor polls until ok holds, failing after a generous timeout (the
// machine is shared: never assert timing tightly).
func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	testenv.WaitFor(t, 60*time.Second, what, ok)
}

func startTail(t *testing.T, e *tailEnv, sources []Source, opts Options) *collector {
	t.Helper()
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Tail(ctx, e.pool, sources, opts, c.emit) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Tail: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Tail did not return after cancel")
		}
	})
	return c
}

func numbered(prefix string, from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("%s %d", prefix, i))
	}
	return out
}

func TestTailInOrderPerHost(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 3)
	var sources []Source
	for i, tg := range e.targets {
		e.appendLines(t, i, "app.log", numbered(tg.Name+" old", 1, 5)...)
		e.appendLines(t, i, "access.log", "a first")
		sources = append(sources, Source{Host: tg, Paths: []string{"app.log", "access.log"}})
	}
	c := startTail(t, e, sources, Options{SinceLines: 2})
	for _, tg := range e.targets {
		waitFor(t, tg.Name+" backlog", func() bool { return len(c.of(tg.Name)) >= 3 })
	}
	for round := range 5 {
		for i, tg := range e.targets {
			e.appendLines(t, i, "app.log", numbered(tg.Name+" new", round*100+1, round*100+100)...)
		}
	}
	for i, tg := range e.targets {
		want := append(numbered(tg.Name+" old", 4, 5), numbered(tg.Name+" new", 1, 500)...)
		waitFor(t, tg.Name+" lines", func() bool { return len(fileLines(c, tg.Name, "app.log")) >= len(want) })
		if got := fileLines(c, tg.Name, "app.log"); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("host %d %s: %d lines, want %d in order; first %q", i, tg.Name, len(got), len(want), got[:min(3, len(got))])
		}
		if got := fileLines(c, tg.Name, "access.log"); len(got) != 1 || got[0] != "a first" {
			t.Errorf("%s access.log: %q", tg.Name, got)
		}
	}
}

// fileLines returns the file lines host sent from file.
func fileLines(c *collector, host, file string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, l := range c.lines {
		if l.Host == host && l.File == file && l.Kind == KindLine {
			out = append(out, l.Text)
		}
	}
	return out
}

func TestTailFollowsRotation(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 1)
	h := e.targets[0].Name
	e.appendLines(t, 0, "app.log", "before 1")
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{"app.log"}}}, Options{SinceLines: 10})
	waitFor(t, "first line", func() bool { return len(fileLines(c, h, "app.log")) == 1 })
	e.appendLines(t, 0, "app.log", "before 2")
	waitFor(t, "second line", func() bool { return len(fileLines(c, h, "app.log")) == 2 })
	if err := os.Rename(e.path(0, "app.log"), e.path(0, "app.log.1")); err != nil {
		t.Fatal(err)
	}
	e.appendLines(t, 0, "app.log", "after 1", "after 2")
	waitFor(t, "lines of the new file", func() bool { return len(fileLines(c, h, "app.log")) == 4 })
	want := "before 1\nbefore 2\nafter 1\nafter 2"
	if got := strings.Join(fileLines(c, h, "app.log"), "\n"); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	if len(c.of(h, KindRotated)) == 0 {
		t.Errorf("no rotation marker; stream: %q", c.of(h))
	}
}

func TestTailReconnectsWithoutLoss(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 2)
	var sources []Source
	for i, tg := range e.targets {
		e.appendLines(t, i, "app.log", numbered("l", 1, 10)...)
		sources = append(sources, Source{Host: tg, Paths: []string{"app.log"}})
	}
	c := startTail(t, e, sources, Options{SinceLines: 10, RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	down, up := e.targets[0].Name, e.targets[1].Name
	for _, h := range []string{down, up} {
		waitFor(t, h+" backlog", func() bool { return len(fileLines(c, h, "app.log")) == 10 })
	}
	e.fleet.Hosts[0].Kill()
	waitFor(t, "dropped marker", func() bool { return len(c.of(down, KindDropped)) > 0 })
	e.appendLines(t, 0, "app.log", numbered("l", 11, 20)...) // written while the host is down
	e.appendLines(t, 1, "app.log", numbered("l", 11, 20)...)
	time.Sleep(300 * time.Millisecond) // a retry or two fail meanwhile
	e.fleet.Hosts[0].Restart(t)
	waitFor(t, "reconnected marker", func() bool { return len(c.of(down, KindReconnected)) > 0 })
	e.appendLines(t, 0, "app.log", numbered("l", 21, 30)...)
	e.appendLines(t, 1, "app.log", numbered("l", 21, 30)...)
	want := strings.Join(numbered("l", 1, 30), "\n")
	for _, h := range []string{down, up} {
		waitFor(t, h+" every line", func() bool { return len(fileLines(c, h, "app.log")) >= 30 })
		if got := strings.Join(fileLines(c, h, "app.log"), "\n"); got != want {
			t.Errorf("%s lines:\n%s", h, got)
		}
	}
	t.Logf("markers of %s: %q", down, c.of(down, KindDropped, KindReconnected, KindNotice, KindRotated))
	rec := c.of(down, KindReconnected)[0]
	if !strings.Contains(rec, "catching up") {
		t.Errorf("reconnected marker %q does not say it catches up", rec)
	}
	// The stream shows the drop, then the reconnection, then the lines
	// written meanwhile (flagged as backlog).
	c.mu.Lock()
	lines := slices.Clone(c.lines)
	c.mu.Unlock()
	var order []string
	for _, l := range lines {
		if l.Host == down && (l.Kind != KindLine || l.Text == "l 11" || l.Text == "l 21") {
			order = append(order, fmt.Sprintf("%s:%s:%v", l.Kind, firstWord(l.Text), l.Backlog))
		}
	}
	got := strings.Join(order, " ")
	if !strings.Contains(got, "dropped:connection:false") || !strings.Contains(got, "reconnected:reconnected::false line:l:true line:l:false") {
		t.Errorf("stream of %s: %s", down, got)
	}
	if len(c.of(up, KindDropped, KindReconnected)) != 0 {
		t.Errorf("%s was marked: %q", up, c.of(up, KindDropped, KindReconnected))
	}
}

func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}

// TestTailReconnectAfterRotation: the file is rotated while the host is
// down; the reconnected marker says the old file's last lines are not
// shown, and the new file is shown from its start.
func TestTailReconnectAfterRotation(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 1)
	h := e.targets[0].Name
	e.appendLines(t, 0, "app.log", "old 1")
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{"app.log"}}},
		Options{SinceLines: 5, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond})
	waitFor(t, "the first line", func() bool { return len(fileLines(c, h, "app.log")) == 1 })
	// A line that arrives live proves tail runs.
	e.appendLines(t, 0, "app.log", "old 1b")
	waitFor(t, "a live line", func() bool { return len(fileLines(c, h, "app.log")) == 2 })
	e.fleet.Hosts[0].Kill()
	waitFor(t, "dropped marker", func() bool { return len(c.of(h, KindDropped)) > 0 })
	e.appendLines(t, 0, "app.log", "old 2 (written while down, then rotated away)")
	if err := os.Rename(e.path(0, "app.log"), e.path(0, "app.log.1")); err != nil {
		t.Fatal(err)
	}
	e.appendLines(t, 0, "app.log", "new 1", "new 2")
	e.fleet.Hosts[0].Restart(t)
	waitFor(t, "the new file's lines", func() bool { return len(fileLines(c, h, "app.log")) >= 4 })
	if got := strings.Join(fileLines(c, h, "app.log"), "|"); got != "old 1|old 1b|new 1|new 2" {
		t.Errorf("lines: %s", got)
	}
	rec := c.of(h, KindReconnected)
	if len(rec) != 1 || !strings.Contains(rec[0], "replaced") || !strings.Contains(rec[0], "not shown") {
		t.Errorf("reconnected marker: %q", rec)
	}
}

// TestTailUnreachableHost: a host that never answers is marked once, not
// on every retry, and the others are followed meanwhile.
func TestTailUnreachableHost(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 2)
	e.appendLines(t, 1, "app.log", "up")
	e.fleet.Hosts[0].Kill()
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{"app.log"}}, {Host: e.targets[1], Paths: []string{"app.log"}}},
		Options{SinceLines: 5, RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	waitFor(t, "the live host's line", func() bool { return len(fileLines(c, e.targets[1].Name, "app.log")) == 1 })
	time.Sleep(500 * time.Millisecond) // several retries
	if m := c.of(e.targets[0].Name, KindDropped); len(m) != 1 || !strings.HasPrefix(m[0], "cannot follow") {
		t.Errorf("markers of the dead host: %q", m)
	}
}

func TestBackoffIsCapped(t *testing.T) {
	for n, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second} {
		if got := backoff(time.Second, 10*time.Second, n); got != want {
			t.Errorf("backoff after %d failures = %v, want %v", n, got, want)
		}
	}
}

func TestMarkerParsing(t *testing.T) {
	for _, tc := range []struct {
		line, want string
		ok         bool
	}{
		{"@@opsui-abc 2049:12 100 150 same", "catching up 50 bytes", true},
		{"@@opsui-abc 2049:12 100 100 same", "nothing was written", true},
		{"@@opsui-abc 2049:13 0 20 replaced", "replaced", true},
		{"@@opsui-abc 2049:12 0 10 truncated", "truncated", true},
		{"@@opsui-abc - 0 0 absent", "does not exist", true},
		{"@@opsui-abc 2049:12 500 500 unknown", "new lines only", true},
		{"@@opsui-abc 2049:12 100 5000000 same-capped", "over the catch-up limit", true},
		{"@@opsui-xyz 2049:12 100 150 same", "", false}, // another connection's nonce
		{"@@opsui-abc 2049:12", "", false},
	} {
		m, ok := parseMarker(tc.line, "abc")
		if ok != tc.ok || (ok && !strings.Contains(m.describe(), tc.want)) {
			t.Errorf("%q: ok %v, %q; want %v, %q", tc.line, ok, m.describe(), tc.ok, tc.want)
		}
	}
}

// TestTailForgedTruncationLineIsData: a line of the file that reads like
// tail's "file truncated" message is shown as a line and does not reset the
// follow's offset (which made a reconnection show the whole file again);
// a real truncation still does.
func TestTailForgedTruncationLineIsData(t *testing.T) {
	t.Parallel()
	e := newTailEnv(t, 1)
	h := e.targets[0].Name
	forged := []string{
		"tail: app.log: file truncated",
		"tail: '" + e.path(0, "app.log") + "': file truncated",
		"tail: '" + e.path(0, "app.log") + "' has been replaced;  following new file",
	}
	e.appendLines(t, 0, "app.log", "l 1", "l 2")
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{"app.log"}}},
		Options{SinceLines: 10, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond})
	waitFor(t, "the backlog", func() bool { return len(fileLines(c, h, "app.log")) == 2 })
	e.appendLines(t, 0, "app.log", "l 3")
	waitFor(t, "a live line", func() bool { return len(fileLines(c, h, "app.log")) == 3 })
	e.appendLines(t, 0, "app.log", append(forged, "l 4")...)
	waitFor(t, "the forged lines", func() bool { return len(fileLines(c, h, "app.log")) == 7 })
	if r := c.of(h, KindRotated, KindNotice); len(r) != 0 {
		t.Fatalf("lines of the file were taken for tail's messages: %q", r)
	}

	e.fleet.Hosts[0].Kill()
	waitFor(t, "dropped marker", func() bool { return len(c.of(h, KindDropped)) > 0 })
	e.appendLines(t, 0, "app.log", "l 5")
	e.fleet.Hosts[0].Restart(t)
	waitFor(t, "reconnected marker", func() bool { return len(c.of(h, KindReconnected)) > 0 })
	e.appendLines(t, 0, "app.log", "l 6")
	waitFor(t, "l 6", func() bool { return slices.Contains(fileLines(c, h, "app.log"), "l 6") })
	want := append(append([]string{"l 1", "l 2", "l 3"}, forged...), "l 4", "l 5", "l 6")
	if got := fileLines(c, h, "app.log"); !slices.Equal(got, want) {
		t.Errorf("lines after the reconnection:\n%s\nwant:\n%s\nmarkers: %q", strings.Join(got, "\n"), strings.Join(want, "\n"),
			c.of(h, KindReconnected, KindDropped))
	}
	if rec := c.of(h, KindReconnected); !strings.Contains(rec[0], "catching up") {
		t.Errorf("reconnected marker %q", rec[0])
	}

	// A real truncation is tail's message, with the file's plain name.
	if err := os.Truncate(e.path(0, "app.log"), 0); err != nil {
		t.Fatal(err)
	}
	e.appendLines(t, 0, "app.log", "new 1")
	waitFor(t, "the truncated file's line", func() bool { return slices.Contains(fileLines(c, h, "app.log"), "new 1") })
	rot := c.of(h, KindRotated)
	if len(rot) != 1 || rot[0] != "tail: app.log: file truncated" {
		t.Errorf("truncation marker: %q", rot)
	}
}

func TestTailNameSpellsTheNonce(t *testing.T) {
	for _, p := range []string{"/var/log/app.log", "app.log", "logs/x y.log"} {
		a, tagA := tailName(p, "0123456789ab")
		b, tagB := tailName(p, "0123456789ac")
		if a == b || tagA == tagB || len(tagA) < 48 {
			t.Errorf("%s: names %q and %q do not differ by nonce", p, a, b)
		}
		if filepath.Clean(a) != filepath.Clean(p) {
			t.Errorf("%s: tail follows %q, another file", p, a)
		}
		if strings.Replace(a, tagA, "", 1) != p {
			t.Errorf("%s: shown as %q", p, strings.Replace(a, tagA, "", 1))
		}
	}
}

// A connection that drops while the backlog is on its way must resume from
// the offset the start marker gave, not start again: starting again showed
// the last lines twice and lost those written while the host was down.
func TestStreamStartedBeforeItsBacklog(t *testing.T) {
	var got []Line
	f := &follower{target: remote.Target{Name: "web1"}, path: "app.log", off: -1, emit: func(l Line) { got = append(got, l) }}
	s := &stream{f: f, nonce: "n1"}
	s.line(markerPrefix+"n1 8:9 120 0 start", 10, time.Now())
	s.line("old 1", 6, time.Now())
	s.finish() // dropped before the rest of the backlog and its end marker
	if !f.started || f.off != 120 || f.id != "8:9" {
		t.Fatalf("after the start marker: started=%v off=%d id=%q, want started at 120 of 8:9", f.started, f.off, f.id)
	}
	if len(got) != 1 || got[0].Text != "old 1" || !got[0].Backlog || got[0].Kind != KindLine {
		t.Fatalf("lines = %+v, want the one backlog line", got)
	}
	// A whole start: the backlog does not move the offset, live lines do.
	got = nil
	f = &follower{target: remote.Target{Name: "web1"}, path: "app.log", off: -1, emit: func(l Line) { got = append(got, l) }}
	s = &stream{f: f, nonce: "n2"}
	s.line(markerPrefix+"n2 8:9 120 0 start", 10, time.Now())
	s.line("old 1", 6, time.Now())
	s.line(markerPrefix+"n2 - - 0 "+backlogEnd, 10, time.Now())
	s.line("new 1", 6, time.Now())
	if f.off != 126 || len(got) != 2 || got[1].Backlog || got[1].Text != "new 1" {
		t.Fatalf("off=%d lines=%+v, want off 126 and one live line after the backlog", f.off, got)
	}
}
