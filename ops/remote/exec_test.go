package remote

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
)

// execEnv is a fleet of real sshd hosts with a pool and a target per host.
type execEnv struct {
	fleet   *sshtest.Fleet
	pool    *Pool
	targets []Target
}

func newExecEnv(t *testing.T, n int, opts ...sshtest.Option) *execEnv {
	t.Helper()
	f := sshtest.Start(t, n, opts...)
	p := NewPool(Options{
		KnownHostsFiles: []string{f.KnownHostsPath},
		DialTimeout:     5 * time.Second,
		KeepAlive:       -1,
	})
	t.Cleanup(func() { p.Close() })
	e := &execEnv{fleet: f, pool: p}
	for _, h := range f.Hosts {
		e.targets = append(e.targets, Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	return e
}

// run runs cmd on every host and returns the result and the events.
func (e *execEnv) run(t *testing.T, ctx context.Context, cmd string, opts RunOptions) (Result, *eventLog) {
	t.Helper()
	log := &eventLog{}
	res, err := Run(ctx, e.pool, e.targets, cmd, opts, log.emit)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkOrder(t, log)
	return res, log
}

// remote runs cmd on host i over a fresh session, outside Run.
func (e *execEnv) remote(t *testing.T, i int, cmd string) string {
	t.Helper()
	s, err := e.pool.Session(context.Background(), e.targets[i])
	if err != nil {
		t.Fatalf("session on %s: %v", e.targets[i].Name, err)
	}
	defer s.Close()
	out, _ := s.CombinedOutput(cmd) // pgrep exits 1 when it finds nothing
	return string(out)
}

// waitGone polls host i until no process matches the pgrep pattern.
func (e *execEnv) waitGone(t *testing.T, i int, pattern string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := strings.TrimSpace(e.remote(t, i, "pgrep -af "+Quote(pattern)))
		if left == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: processes left %v after the run ended:\n%s", e.targets[i].Name, within, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventLog collects events from concurrent hosts.
type eventLog struct {
	mu     sync.Mutex
	events []Event
}

func (l *eventLog) emit(ev Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
}

// of returns host's events, optionally only those of the given kinds.
func (l *eventLog) of(host string, kinds ...EventKind) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, ev := range l.events {
		if ev.Host == host && (len(kinds) == 0 || contains(kinds, ev.Kind)) {
			out = append(out, ev)
		}
	}
	return out
}

func contains(kinds []EventKind, k EventKind) bool {
	for _, x := range kinds {
		if x == k {
			return true
		}
	}
	return false
}

// text joins the display lines of host's events of kind.
func (l *eventLog) text(host string, kind EventKind) string {
	var b strings.Builder
	for _, ev := range l.of(host, kind) {
		b.WriteString(ev.Line + "\n")
	}
	return b.String()
}

// raw concatenates the raw bytes of host's events of kind.
func (l *eventLog) raw(host string, kind EventKind) []byte {
	var b []byte
	for _, ev := range l.of(host, kind) {
		b = append(b, ev.Raw...)
	}
	return b
}

// checkOrder checks every host's events follow queued, connecting,
// started, output..., exited|failed (failed may come at any point).
func checkOrder(t *testing.T, l *eventLog) {
	t.Helper()
	hosts := map[string][]EventKind{}
	for _, ev := range l.events {
		hosts[ev.Host] = append(hosts[ev.Host], ev.Kind)
		if ev.Time.IsZero() {
			t.Errorf("%s: %v event without a time", ev.Host, ev.Kind)
		}
	}
	for host, kinds := range hosts {
		state := EventKind(-1)
		for i, k := range kinds {
			ok := false
			switch k {
			case EventQueued:
				ok = i == 0
			case EventConnecting:
				ok = state == EventQueued
			case EventStarted:
				ok = state == EventConnecting
			case EventStdout, EventStderr, EventProgress:
				ok = state >= EventStarted && state <= EventProgress
			case EventExited:
				ok = state >= EventStarted && state <= EventProgress
			case EventFailed:
				ok = state >= EventQueued && state <= EventProgress
			}
			if !ok {
				t.Fatalf("%s: event %d %v after %v: %v", host, i, k, state, kinds)
			}
			state = k
		}
		if state != EventExited && state != EventFailed {
			t.Fatalf("%s: events end with %v, not exited or failed", host, state)
		}
	}
}

func TestRunUname(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 5)
	res, log := e.run(t, t.Context(), "uname -n", RunOptions{})
	if res.OK != 5 || res.Err() != nil {
		t.Fatalf("result: %s: %v", res.Summary(), res.Err())
	}
	for i, tg := range e.targets {
		kinds := []EventKind{}
		for _, ev := range log.of(tg.Name) {
			kinds = append(kinds, ev.Kind)
		}
		want := []EventKind{EventQueued, EventConnecting, EventStarted, EventStdout, EventExited}
		if fmt.Sprint(kinds) != fmt.Sprint(want) {
			t.Errorf("%s: events %v, want %v", tg.Name, kinds, want)
		}
		if got := log.text(tg.Name, EventStdout); got != tg.Name+"\n" {
			t.Errorf("%s: output %q", tg.Name, got)
		}
		h := res.Hosts[i]
		if h.Host != tg.Name || h.Status != StatusOK || h.Code != 0 || h.Lines != 1 || h.Duration <= 0 {
			t.Errorf("host result %+v", h)
		}
	}
	if slow, ok := res.Slowest(); !ok || !strings.Contains(res.Summary(), "5 ok; slowest "+slow.Host+" ") {
		t.Errorf("summary %q", res.Summary())
	}
}

// TestRunCommands checks exit codes, stream separation, partial lines and
// environment under the login shell (bash) and /bin/sh (dash).
func TestRunCommands(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	host := e.targets[0].Name
	hostile := `it's $(touch /tmp/pwned) ` + "`x` \"q\" ; \n next"
	tests := []struct {
		name, cmd      string
		env            map[string]string
		code           int
		class          ErrorClass
		stdout, stderr string
	}{
		{name: "ok", cmd: "echo hello", stdout: "hello\n"},
		{name: "exit code", cmd: "echo out; echo err >&2; exit 3", code: 3, class: ClassExit, stdout: "out\n", stderr: "err\n"},
		{name: "streams", cmd: "echo 1; echo 2 >&2; echo 3; echo 4 >&2", stdout: "1\n3\n", stderr: "2\n4\n"},
		{name: "partial last line", cmd: "printf 'a\\nno newline'; printf 'e' >&2", stdout: "a\nno newline\n", stderr: "e\n"},
		{name: "false", cmd: "false", code: 1, class: ClassExit},
		{name: "killed by a signal", cmd: "kill -9 $$", code: 128 + 9, class: ClassExit},
		{name: "syntax error", cmd: "if", code: 2, class: ClassExit},
		{name: "stdin is empty", cmd: "wc -c", stdout: "0\n"},
		{name: "env", cmd: `printf '%s|%s\n' "$A" "$B_2"`, env: map[string]string{"A": hostile, "B_2": ""}, stdout: hostile + "|\n"},
		{name: "quotes", cmd: `echo "a'b" 'c"d' $((1+2))`, stdout: "a'b c\"d 3\n"},
	}
	for _, shell := range []string{"", "/bin/sh"} {
		for _, tc := range tests {
			t.Run(fmt.Sprintf("%s/shell=%q", tc.name, shell), func(t *testing.T) {
				res, log := e.run(t, t.Context(), tc.cmd, RunOptions{Shell: shell, Env: tc.env})
				h := res.Hosts[0]
				if tc.name == "syntax error" && h.Code != 0 {
					tc.code = h.Code // bash says 1 or 2 depending on the error; dash 2
				}
				if h.Code != tc.code || h.Class != tc.class || ClassOf(h.Err) != tc.class {
					t.Errorf("code %d class %q err %v, want %d %q", h.Code, h.Class, h.Err, tc.code, tc.class)
				}
				exited := log.of(host, EventExited)
				if len(exited) != 1 || exited[0].Code != tc.code || exited[0].Class != tc.class {
					t.Errorf("exited events %+v", exited)
				}
				if got := log.text(host, EventStdout); got != tc.stdout {
					t.Errorf("stdout %q, want %q", got, tc.stdout)
				}
				if tc.stderr != "" || tc.class == ClassNone {
					if got := log.text(host, EventStderr); got != tc.stderr {
						t.Errorf("stderr %q, want %q", got, tc.stderr)
					}
				}
			})
		}
	}
	if out := e.remote(t, 0, "ls /tmp/pwned 2>&1"); !strings.Contains(out, "No such file") {
		t.Errorf("a hostile environment value ran: %q", out)
	}
}

func TestRunManyLines(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	start := time.Now()
	res, log := e.run(t, t.Context(), "seq 1 100000", RunOptions{})
	t.Logf("100000 lines in %v", time.Since(start))
	for i, tg := range e.targets {
		lines := log.of(tg.Name, EventStdout)
		if len(lines) != 100000 || res.Hosts[i].Lines != 100000 {
			t.Fatalf("%s: %d line events, %d counted", tg.Name, len(lines), res.Hosts[i].Lines)
		}
		for n, ev := range lines {
			if ev.Line != strconv.Itoa(n+1) {
				t.Fatalf("%s: line %d is %q", tg.Name, n+1, ev.Line)
			}
		}
		if res.Hosts[i].Bytes != 588895 {
			t.Errorf("%s: %d bytes", tg.Name, res.Hosts[i].Bytes)
		}
	}
}

func TestRunLongLines(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	host := e.targets[0].Name
	for _, tc := range []struct {
		name   string
		size   int
		maxRaw int
		events int
	}{
		{"1 MB", 1000000, 0, 1},
		{"3 MiB in 256 KiB pieces", 3 << 20, 256 << 10, 12},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := fmt.Sprintf("head -c %d /dev/zero | tr '\\0' x; echo; echo after", tc.size)
			_, log := e.run(t, t.Context(), cmd, RunOptions{MaxRawLen: tc.maxRaw})
			lines := log.of(host, EventStdout)
			if len(lines) != tc.events+1 {
				t.Fatalf("%d events, want %d", len(lines), tc.events+1)
			}
			for _, ev := range lines[:tc.events] {
				if !ev.Truncated || len(ev.Line) > DefaultMaxLineLen || strings.Trim(ev.Line, "x") != "" {
					t.Fatalf("long line event: truncated %v, %d display bytes", ev.Truncated, len(ev.Line))
				}
			}
			if last := lines[tc.events]; last.Line != "after" || last.Truncated {
				t.Errorf("line after: %+v", last)
			}
			want := strings.Repeat("x", tc.size) + "\nafter\n"
			if raw := log.raw(host, EventStdout); string(raw) != want {
				t.Errorf("raw output: %d bytes, want %d", len(raw), len(want))
			}
		})
	}
}

func TestRunBinaryOutput(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	host := e.targets[0].Name
	_, log := e.run(t, t.Context(), "head -c 100000 /dev/urandom | tee blob; sha256sum blob >&2", RunOptions{})
	raw := log.raw(host, EventStdout)
	sum := sha256.Sum256(raw)
	if want := strings.Fields(log.text(host, EventStderr))[0]; hex.EncodeToString(sum[:]) != want || len(raw) != 100000 {
		t.Errorf("raw output: %d bytes, sha256 %x, want %s", len(raw), sum, want)
	}
	for _, ev := range log.of(host, EventStdout) {
		if !utf8.ValidString(ev.Line) || len(ev.Line) > DefaultMaxLineLen {
			t.Fatalf("display line not valid UTF-8 or too long: %q", ev.Line)
		}
		for _, r := range ev.Line {
			if (r < 0x20 && r != '\t') || (r >= 0x7f && r < 0xa0) {
				t.Fatalf("control character %U in display line %q", r, ev.Line)
			}
		}
	}
}

func TestRunProgress(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	host := e.targets[0].Name
	tests := []struct {
		name, cmd, final string
		min              int
	}{
		{"fast", `for i in $(seq 1 1000); do printf '\r%d' $i; done; echo`, "1000", 0},
		{"slow", `for i in $(seq 1 20); do printf '\r%d%%' $((i*5)); sleep 0.05; done; echo`, "100%", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, log := e.run(t, t.Context(), tc.cmd, RunOptions{})
			progress := log.of(host, EventProgress)
			// At most one per interval, plus the first.
			if most := int(res.Hosts[0].Duration/DefaultProgressInterval) + 1; len(progress) < tc.min || len(progress) > most {
				t.Errorf("%d progress events in %v, want %d to %d", len(progress), res.Hosts[0].Duration, tc.min, most)
			}
			for i := 1; i < len(progress); i++ {
				if gap := progress[i].Time.Sub(progress[i-1].Time); gap < DefaultProgressInterval-10*time.Millisecond {
					t.Errorf("progress events %v apart", gap)
				}
			}
			lines := log.of(host, EventStdout)
			if len(lines) != 1 || lines[0].Line != tc.final {
				t.Errorf("lines %+v, want one %q", lines, tc.final)
			}
		})
	}
}

func TestRunStdin(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	data := strings.Repeat("0123456789", 100000) + "tail"
	for _, shell := range []string{"", "/bin/sh"} {
		opts := RunOptions{Shell: shell, Stdin: func(Target) (Input, error) {
			return Input{R: strings.NewReader(data), Size: int64(len(data))}, nil
		}}
		res, log := e.run(t, t.Context(), "wc -c; exit 5", opts)
		for i, tg := range e.targets {
			if got := log.text(tg.Name, EventStdout); got != fmt.Sprintf("%d\n", len(data)) || res.Hosts[i].Code != 5 {
				t.Errorf("%s: output %q code %d", tg.Name, got, res.Hosts[i].Code)
			}
			if got := log.text(tg.Name, EventStderr); got != "" {
				t.Errorf("%s: stderr %q", tg.Name, got)
			}
			p := log.of(tg.Name, EventProgress)
			if len(p) == 0 || p[len(p)-1].Bytes != int64(len(data)) || p[len(p)-1].Total != int64(len(data)) {
				t.Errorf("%s: progress %+v", tg.Name, p)
			}
		}
		// A command that exits without reading its input ends the run
		// at once, with its own status, however much input is left.
		big := strings.NewReader(strings.Repeat("x", 64<<20))
		opts.Stdin = func(Target) (Input, error) {
			return Input{R: io.NewSectionReader(big, 0, big.Size()), Size: big.Size()}, nil
		}
		start := time.Now()
		res, _ = e.run(t, t.Context(), "echo early; exit 7", opts)
		for _, h := range res.Hosts {
			if h.Code != 7 || time.Since(start) > 3*time.Second {
				t.Errorf("%s: code %d after %v", h.Host, h.Code, time.Since(start))
			}
		}
	}
}

func TestRunFailuresAreIsolated(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	e.targets = append(e.targets, Target{Name: "closed", Addr: "127.0.0.1:1", User: "root"})
	res, log := e.run(t, t.Context(), "uname -n", RunOptions{})
	if res.OK != 2 || res.Failed != 1 || res.Classes[ClassUnreachable] != 1 {
		t.Fatalf("result %s", res.Summary())
	}
	if h := res.Hosts[2]; h.Class != ClassUnreachable || h.Status != StatusFailed || log.of("closed", EventFailed) == nil {
		t.Errorf("closed port: %+v", h)
	}
	if !strings.HasPrefix(res.Summary(), "1 failed (1 unreachable), 2 ok; slowest ") {
		t.Errorf("summary %q", res.Summary())
	}
	if res.Err() == nil || !strings.Contains(res.Err().Error(), "closed: unreachable") {
		t.Errorf("Err() = %v", res.Err())
	}
}

func TestRunParallelLimit(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 6)
	var mu sync.Mutex
	running, most := 0, 0
	emit := func(ev Event) {
		mu.Lock()
		defer mu.Unlock()
		switch ev.Kind {
		case EventConnecting:
			running++
			most = max(most, running)
		case EventExited, EventFailed:
			running--
		}
	}
	res, err := Run(t.Context(), e.pool, e.targets, "sleep 0.3", RunOptions{Parallel: 2}, emit)
	if err != nil || res.OK != 6 {
		t.Fatalf("Run: %v, %s", err, res.Summary())
	}
	if most != 2 {
		t.Errorf("at most %d hosts ran at once, want 2", most)
	}
	if res.Duration < 900*time.Millisecond {
		t.Errorf("6 hosts by 2 of 0.3s took only %v", res.Duration)
	}
}

func TestRunCancelledBeforeStart(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, log := e.run(t, ctx, "uname -n", RunOptions{})
	if res.Cancelled != 2 || res.Classes[ClassCancelled] != 2 {
		t.Fatalf("result %s", res.Summary())
	}
	if n := len(log.of(e.targets[0].Name, EventConnecting)); n != 0 {
		t.Errorf("a cancelled run connected")
	}
}

func TestRunInvalidOptions(t *testing.T) {
	for _, o := range []RunOptions{{Parallel: -1}, {Env: map[string]string{"A B": "x"}}, {Env: map[string]string{"1A": "x"}}} {
		if _, err := Run(t.Context(), nil, nil, "true", o, nil); err == nil {
			t.Errorf("Run accepted %+v", o)
		}
	}
}

// startedCh returns an emit that records events and a channel that gets
// each host's name when its command starts.
func startedCh(log *eventLog) (func(Event), chan string) {
	ch := make(chan string, 100)
	return func(ev Event) {
		log.emit(ev)
		if ev.Kind == EventStarted {
			ch <- ev.Host
		}
	}, ch
}

func waitStarted(t *testing.T, ch chan string, n int) {
	t.Helper()
	for range n {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Fatal("commands did not start")
		}
	}
	time.Sleep(100 * time.Millisecond) // let the remote shells fork
}

// TestRunCancelKillsRemoteProcesses cancels commands with pipelines and
// background children, with and without input, under bash and dash (one
// group of hosts per variant, all at once), and proves over a fresh
// session that nothing they started is left.
func TestRunCancelKillsRemoteProcesses(t *testing.T) {
	t.Parallel()
	cmds := []string{"sleep 300; echo never", "sleep 301 & sleep 302; wait", "sleep 300 | cat | sort", "trap '' TERM; sleep 301"}
	type variant struct {
		shell     string
		withInput bool
		res       Result
		err       error
	}
	variants := []*variant{{"", false, Result{}, nil}, {"", true, Result{}, nil}, {"/bin/sh", false, Result{}, nil}, {"/bin/sh", true, Result{}, nil}}
	e := newExecEnv(t, len(variants)*len(cmds))
	ctx, cancel := context.WithCancel(t.Context())
	log := &eventLog{}
	emit, started := startedCh(log)
	var wg sync.WaitGroup
	for i, v := range variants {
		opts := RunOptions{Shell: v.shell, KillGrace: time.Second}
		if v.withInput {
			opts.Stdin = func(Target) (Input, error) { return Input{R: strings.NewReader("in"), Size: 2}, nil }
		}
		targets := e.targets[i*len(cmds) : (i+1)*len(cmds)]
		wg.Go(func() { v.res, v.err = runEach(ctx, e.pool, targets, cmds, opts, emit) })
	}
	waitStarted(t, started, len(e.targets))
	for i := range e.targets {
		if out := e.remote(t, i, "pgrep -f 'sleep 30[012]'"); out == "" {
			t.Fatalf("%s: command not running before the cancel", e.targets[i].Name)
		}
	}
	cancelled := time.Now()
	cancel()
	wg.Wait()
	took := time.Since(cancelled)
	if took > 2*time.Second {
		t.Errorf("Run returned %v after the cancel", took)
	}
	t.Logf("Run returned %v after the cancel", took)
	checkOrder(t, log)
	for _, v := range variants {
		if v.err != nil || v.res.Cancelled != len(cmds) {
			t.Errorf("shell %q, input %v: %v, %s", v.shell, v.withInput, v.err, v.res.Summary())
		}
	}
	for i := range e.targets {
		e.waitGone(t, i, "sleep 30[012]", 5*time.Second)
	}
	t.Logf("no process left on %d hosts %v after the cancel", len(e.targets), time.Since(cancelled))
}

// runEach runs cmds[i] on targets[i], all at once: one Run per host, the
// way a test gets different commands on different hosts.
func runEach(ctx context.Context, conn Connector, targets []Target, cmds []string, opts RunOptions, emit func(Event)) (Result, error) {
	results := make([]Result, len(targets))
	errs := make([]error, len(targets))
	var wg sync.WaitGroup
	for i := range targets {
		wg.Go(func() { results[i], errs[i] = Run(ctx, conn, targets[i:i+1], cmds[i], opts, emit) })
	}
	wg.Wait()
	var hosts []HostResult
	for i, r := range results {
		if errs[i] != nil {
			return Result{}, errs[i]
		}
		hosts = append(hosts, r.Hosts...)
	}
	return newResult(hosts, 0), nil
}

func TestRunTimeoutKillsRemoteProcesses(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	start := time.Now()
	res, _ := e.run(t, t.Context(), "echo started; sleep 300 | cat", RunOptions{Timeout: 500 * time.Millisecond, KillGrace: time.Second})
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("Run took %v with a 500ms timeout", took)
	}
	for i, h := range res.Hosts {
		if h.Class != ClassTimeout || h.Status != StatusFailed || h.Lines != 1 {
			t.Errorf("%+v", h)
		}
		e.waitGone(t, i, "sleep 300", 5*time.Second)
	}
}

// TestRunNormalExitKeepsDaemons checks the wrapper leaves alone what a
// command that ended normally started in the background on purpose.
func TestRunNormalExitKeepsDaemons(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	res, _ := e.run(t, t.Context(), "nohup sleep 303 >/dev/null 2>&1 &", RunOptions{})
	if res.OK != 1 {
		t.Fatal(res.Summary())
	}
	time.Sleep(300 * time.Millisecond) // the watchdog would have struck by now
	if out := e.remote(t, 0, "pgrep -f 'sleep 303'"); strings.TrimSpace(out) == "" {
		t.Errorf("the background daemon was killed")
	}
	e.remote(t, 0, "pkill -f 'sleep 303'")
}

func TestRunHostKilled(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	log := &eventLog{}
	emit, started := startedCh(log)
	go func() {
		waitStarted(t, started, 1)
		e.fleet.Hosts[0].Kill()
	}()
	start := time.Now()
	res, err := Run(t.Context(), e.pool, e.targets, "echo before; sleep 5", RunOptions{}, emit)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, log)
	h := res.Hosts[0]
	if h.Class != ClassConnLost || h.Status != StatusFailed || time.Since(start) > 3*time.Second {
		t.Errorf("killed host: %+v after %v", h, time.Since(start))
	}
	if got := log.text(h.Host, EventStdout); got != "before\n" {
		t.Errorf("output before the kill: %q", got)
	}
}

func TestRunHungHost(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	hung := e.fleet.Hosts[1]
	log := &eventLog{}
	emit, started := startedCh(log)
	go func() {
		waitStarted(t, started, 2)
		hung.Stop()
	}()
	start := time.Now()
	res, err := runEach(t.Context(), e.pool, e.targets, []string{"sleep 1.5", "sleep 300"}, RunOptions{Timeout: 700 * time.Millisecond, KillGrace: time.Second}, emit)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	hung.Cont()
	t.Logf("Run returned %v after its start, with a 0.7s timeout", took)
	if took > 3*time.Second {
		t.Errorf("Run took %v with a hung host and a 0.7s timeout", took)
	}
	if h := res.Hosts[1]; h.Class != ClassTimeout {
		t.Errorf("hung host: %+v", h)
	}
	if h := res.Hosts[0]; h.Class != ClassTimeout {
		t.Errorf("slow host: %+v", h)
	}
	// Once the host runs again, sshd sees the closed channel and the
	// watchdog kills the command.
	e.waitGone(t, 1, "sleep 300", 5*time.Second)
}

func TestRemoteCommandQuoting(t *testing.T) {
	cmd := remoteCommand("echo 'x'", &RunOptions{Env: map[string]string{"B": "2", "A": "it's"}, Shell: "/bin/sh"}, nil)
	if !strings.HasPrefix(cmd, "exec /bin/sh -c ") {
		t.Errorf("command %q", cmd)
	}
	inner := remoteCommand("echo 'x'", &RunOptions{Env: map[string]string{"B": "2", "A": "it's"}}, nil)
	if !strings.HasPrefix(inner, `A='it'\''s'; export A; B=2; export B; `) {
		t.Errorf("environment not sorted or quoted: %q", inner)
	}
	if !strings.HasSuffix(inner, "\necho 'x'") {
		t.Errorf("command not on the last line as it is: %q", inner)
	}
	withInput := remoteCommand("echo 'x'", &RunOptions{}, &Input{Size: 3})
	if !strings.Contains(withInput, `head -c 3;`) || !strings.Contains(withInput, `( eval 'echo '\''x'\''' )`) {
		t.Errorf("command with input: %q", withInput)
	}
	if !bytes.Contains([]byte(remoteCommand("x", &RunOptions{KillGrace: 1500 * time.Millisecond}, nil)), []byte("sleep 2;")) {
		t.Errorf("grace not rounded up to whole seconds")
	}
}

// dialConnector is a minimal Connector: one client per host, dialed with
// ssh.Dial, that a test can cut off.
type dialConnector struct {
	fleet   *sshtest.Fleet
	t       *testing.T
	mu      sync.Mutex
	clients map[string]*ssh.Client
}

func (d *dialConnector) Client(ctx context.Context, tg Target) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.clients[tg.Name]; ok {
		return c, nil
	}
	c, err := ssh.Dial("tcp", tg.Addr, d.fleet.ClientConfig(d.t))
	if err != nil {
		return nil, err
	}
	d.clients[tg.Name] = c
	return c, nil
}

func (d *dialConnector) cut(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clients[name].Close()
}

// TestRunConnectionDropKillsRemoteProcesses drops the connection under a
// running command, as when opsui dies or the network goes: sshd closes
// the session and the wrapper kills the command.
func TestRunConnectionDropKillsRemoteProcesses(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	d := &dialConnector{fleet: e.fleet, t: t, clients: map[string]*ssh.Client{}}
	log := &eventLog{}
	emit, started := startedCh(log)
	go func() {
		waitStarted(t, started, 1)
		d.cut(e.targets[0].Name)
	}()
	res, err := Run(t.Context(), d, e.targets, "sleep 300 | cat", RunOptions{KillGrace: time.Second}, emit)
	if err != nil {
		t.Fatal(err)
	}
	checkOrder(t, log)
	if h := res.Hosts[0]; h.Class != ClassConnLost {
		t.Errorf("%+v", h)
	}
	// The command dies at once; the watchdog, whose command line is the
	// wrapper's, lingers for the grace period.
	e.waitGone(t, 0, "sleep 300", 5*time.Second)
}
