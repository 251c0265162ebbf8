package ops

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/logs"
)

// sudoLogsFleet: the lb role's nginx error log is root's, read through
// sudo; the web role's log is the deploy user's own, read as it is.
const sudoLogsFleet = `environments:
  - name: test
roles:
  web:
    logs: [%[2]s/app.log, ROOTLOG]
    options:
      logs_sudo: "true"
apps:
  - name: shop
    repo: /nonexistent
    deploy_to: %[2]s
hosts:
HOSTS
`

// lineLog keeps the lines a follow emits.
type lineLog struct {
	mu    sync.Mutex
	lines []logs.Line
}

func (l *lineLog) emit(x logs.Line) {
	l.mu.Lock()
	l.lines = append(l.lines, x)
	l.mu.Unlock()
}

func (l *lineLog) texts(file string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, x := range l.lines {
		if x.File == file && x.Kind == logs.KindLine { // not sudo's warnings: the test hosts' names do not resolve
			out = append(out, x.Kind.String()+": "+x.Text)
		}
	}
	return out
}

// TestLogsThroughSudo: a role with logs_sudo: true, on a host reached as
// an ordinary user, and nginx's root-owned error log. The sudoers lines
// opsui setup --print-sudoers prints (SudoRules) are the ones that let
// the console's logs view (FollowLogs) and opsui logs (LogSources +
// TailLogs) follow it; without them, each names the exact line missing
// and stops at once instead of showing nothing.
func TestLogsThroughSudo(t *testing.T) {
	rootLog := sshtest.NewRootLog(t, "2026/12/05 05:00:00 [error] 1#1: old upstream timed out")
	e := newUserEnv(t, 1, strings.Replace(sudoLogsFleet, "ROOTLOG", rootLog.Path, 1), nil)
	f, err := e.svc.Store.LoadFleet(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rules, _, err := f.SudoRules("shop", "test")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string // app.log's too: logs_sudo is the role's
	for _, r := range rules {
		lines = append(lines, r.Line())
	}
	follow := e.Fleet.User + " ALL=(root) NOPASSWD: /usr/bin/tail -n 1000 -F " + rootLog.Path
	if len(lines) != 4 || lines[2] != follow {
		t.Fatalf("sudoers lines: %q, want the third %q", lines, follow)
	}

	// Without the right: the console's view stops with the line named.
	var denied lineLog
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	err = e.svc.FollowLogs(ctx, f, f.Hosts, denied.emit)
	timedOut := ctx.Err() != nil
	cancel()
	var ref *logs.SudoRefusal
	if timedOut || !errors.As(err, &ref) || !strings.Contains(err.Error(), ": "+follow) {
		t.Fatalf("FollowLogs without the sudo right: %v (timed out: %v), want the sudoers line %q", err, timedOut, follow)
	}
	denied.mu.Lock()
	for _, x := range denied.lines {
		if x.Kind == logs.KindLine || x.Kind == logs.KindDropped && !strings.HasPrefix(x.Text, "cannot follow: ") {
			t.Errorf("console line without the right: %s %q", x.Kind, x.Text)
		}
	}
	denied.mu.Unlock()
	if got := denied.texts(rootLog.Path); len(got) != 0 {
		t.Errorf("lines shown without the right: %q", got)
	}

	sshtest.Sudoers(t, lines...)
	sources, _, err := e.svc.LogSources(f, f.Hosts, LogsQuery{})
	if err != nil || len(sources) != 1 || len(sources[0].Sudo) != 2 {
		t.Fatalf("LogSources: %+v %v", sources, err)
	}
	old := []string{"line: 2026/12/05 05:00:00 [error] 1#1: old upstream timed out"}
	for _, c := range []struct {
		name   string
		follow func(ctx context.Context, emit func(logs.Line)) error
	}{
		{"console", func(ctx context.Context, emit func(logs.Line)) error { return e.svc.FollowLogs(ctx, f, f.Hosts, emit) }},
		{"opsui logs", func(ctx context.Context, emit func(logs.Line)) error {
			return e.svc.TailLogs(ctx, sources, logs.Options{SinceLines: logs.DefaultSinceLines}, emit)
		}},
	} {
		name, follow := c.name, c.follow
		var got lineLog
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- follow(ctx, got.emit) }()
		testenv.WaitFor(t, time.Minute, name+": the old lines", func() bool { return len(got.texts(rootLog.Path)) >= len(old) })
		rootLog.Append(t, "2026/12/05 05:01:00 [error] 1#1: new "+name)
		old = append(old, "line: 2026/12/05 05:01:00 [error] 1#1: new "+name)
		testenv.WaitFor(t, time.Minute, name+": the new line", func() bool { return len(got.texts(rootLog.Path)) >= len(old) })
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if g, want := strings.Join(got.texts(rootLog.Path), "\n"), strings.Join(old, "\n"); g != want {
			t.Errorf("%s showed:\n%s\nwant:\n%s", name, g, want)
		}
	}
}
