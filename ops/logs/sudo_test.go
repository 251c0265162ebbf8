package logs

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// newSudoTailEnv is one host reached as the ordinary deploy user.
func newSudoTailEnv(t *testing.T) *tailEnv {
	t.Helper()
	f := sshtest.Start(t, 1, sshtest.WithDeployUser())
	p := remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 5 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	e := &tailEnv{fleet: f, pool: p}
	for _, h := range f.Hosts {
		e.targets = append(e.targets, remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	return e
}

var remoteOpts = remote.RunOptions{}

// sudoersFor returns the exact sudoers lines of path (what opsui setup
// --print-sudoers prints for it).
func sudoersFor(user, path string) []string {
	follow, read := inventory.SudoTailCommands(path)
	return []string{inventory.SudoRule{User: user, Command: follow}.Line(), inventory.SudoRule{User: user, Command: read}.Line()}
}

// TestSudoFollowsARootOwnedLog: a log the deploy user cannot read (0640
// root:adm) is followed through sudo -n with exactly the sudoers lines
// opsui prints: the last lines asked for first (of the 1000 the fixed
// command reads), then new lines as they come, none twice; a one-off read
// gives the last lines asked for.
func TestSudoFollowsARootOwnedLog(t *testing.T) {
	t.Parallel()
	log := sshtest.NewRootLog(t, numbered("old", 1, 1500)...)
	e := newSudoTailEnv(t)
	sshtest.Sudoers(t, sudoersFor(e.fleet.User, log.Path)...)
	src := []Source{{Host: e.targets[0], Paths: []string{log.Path}}}

	// Without Sudo the deploy user is refused, as a real host would.
	var plain collector
	ReadLast(t.Context(), e.pool, src, 3, remoteOpts, plain.emit)
	if got := plain.of(e.targets[0].Name, KindNotice); len(got) != 1 || !strings.Contains(got[0], "Permission denied") {
		t.Fatalf("reading the root-owned log as %s without sudo: %q", e.fleet.User, got)
	}

	src[0].Sudo = []string{log.Path}
	c := startTail(t, e, src, Options{SinceLines: 5})
	host := e.targets[0].Name
	waitFor(t, "the first lines", func() bool { return len(fileLines(c, host, log.Path)) >= 5 })
	log.Append(t, numbered("new", 1, 3)...)
	waitFor(t, "the new lines", func() bool { return len(fileLines(c, host, log.Path)) >= 8 })
	want := strings.Join(append(numbered("old", 1496, 1500), numbered("new", 1, 3)...), "\n")
	if got := strings.Join(fileLines(c, host, log.Path), "\n"); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s\nmarkers: %q", got, want, c.of(host, KindDropped, KindNotice))
	}
	c.mu.Lock()
	for _, l := range c.lines {
		if l.Kind == KindLine && l.Backlog != strings.HasPrefix(l.Text, "old") {
			t.Errorf("line %q flagged backlog %v", l.Text, l.Backlog)
		}
	}
	c.mu.Unlock()

	var once collector
	ReadLast(t.Context(), e.pool, src, 3, remoteOpts, once.emit)
	if got, want := strings.Join(once.of(host), "\n"), "new 1\nnew 2\nnew 3"; got != want {
		t.Errorf("ReadLast through sudo: %q, want %q", got, want)
	}
}

// TestSudoFollowOfASmallLog: a log of fewer lines than the fixed command
// reads is the whole file: its end is known exactly, so the first lines
// stop where the file ended, and a reconnect shows exactly the lines
// written while the host was down.
func TestSudoFollowOfASmallLog(t *testing.T) {
	t.Parallel()
	log := sshtest.NewRootLog(t, numbered("l", 1, 10)...)
	e := newSudoTailEnv(t)
	sshtest.Sudoers(t, sudoersFor(e.fleet.User, log.Path)...)
	host := e.targets[0].Name
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{log.Path}, Sudo: []string{log.Path}}},
		Options{SinceLines: 4, RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	waitFor(t, "the first lines", func() bool { return len(fileLines(c, host, log.Path)) >= 4 })
	log.Append(t, numbered("l", 11, 12)...)
	waitFor(t, "the new lines", func() bool { return len(fileLines(c, host, log.Path)) >= 6 })
	e.fleet.Hosts[0].Kill()
	waitFor(t, "dropped marker", func() bool { return len(c.of(host, KindDropped)) > 0 })
	log.Append(t, numbered("l", 13, 15)...) // written while the host is down
	e.fleet.Hosts[0].Restart(t)
	waitFor(t, "reconnected marker", func() bool { return len(c.of(host, KindReconnected)) > 0 })
	log.Append(t, "l 16")
	waitFor(t, "every line", func() bool { return len(fileLines(c, host, log.Path)) >= 10 })
	if got, want := strings.Join(fileLines(c, host, log.Path), "\n"), strings.Join(numbered("l", 7, 16), "\n"); got != want {
		t.Errorf("lines:\n%s\nwant:\n%s", got, want)
	}
	if rec := c.of(host, KindReconnected)[0]; !strings.Contains(rec, "catching up") {
		t.Errorf("reconnected marker %q does not say it catches up", rec)
	}
}

// TestSudoFollowWithoutTheRight: without the sudoers line the follow
// fails at once (sudo -n, no password prompt to wait on), is not retried,
// and both the marker and Tail's error give the exact sudoers line; a
// one-off read says the same with its own line. Never "no lines".
func TestSudoFollowWithoutTheRight(t *testing.T) {
	t.Parallel()
	log := sshtest.NewRootLog(t, "secret-free line")
	e := newSudoTailEnv(t)
	host := e.targets[0].Name
	follow, read := sudoersFor(e.fleet.User, log.Path)[0], sudoersFor(e.fleet.User, log.Path)[1]
	src := []Source{{Host: e.targets[0], Paths: []string{log.Path}, Sudo: []string{log.Path}}}
	var c collector
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	err := Tail(ctx, e.pool, src, Options{SinceLines: 10}, c.emit)
	if ctx.Err() != nil {
		t.Fatal("Tail kept waiting on a follow sudo refused")
	}
	var ref *SudoRefusal
	if !errors.As(err, &ref) || !strings.HasSuffix(err.Error(), ": "+follow) {
		t.Fatalf("Tail error %v, want one ending with the sudoers line %q", err, follow)
	}
	if got := c.of(host, KindDropped); len(got) != 1 || !strings.HasSuffix(got[0], ": "+follow) {
		t.Errorf("markers %q, want one naming %q", got, follow)
	}
	if got := fileLines(&c, host, log.Path); len(got) != 0 {
		t.Errorf("lines shown without the right: %q", got)
	}
	var once collector
	ReadLast(t.Context(), e.pool, src, 3, remoteOpts, once.emit)
	if got := once.of(host); len(got) != 1 || !strings.HasSuffix(got[0], ": "+read) {
		t.Errorf("ReadLast without the right: %q, want a notice naming %q", got, read)
	}
}

// TestSudoReconnectOfABigLog: a log of more lines than the fixed command
// reads. After a drop, exactly the lines written meanwhile follow the
// reconnect; after a drop during which more was written than that
// command reads, its last 1000 lines follow, and the marker says the
// earlier ones are not shown.
func TestSudoReconnectOfABigLog(t *testing.T) {
	t.Parallel()
	log := sshtest.NewRootLog(t, numbered("a", 1, 1200)...)
	e := newSudoTailEnv(t)
	sshtest.Sudoers(t, sudoersFor(e.fleet.User, log.Path)...)
	host := e.targets[0].Name
	c := startTail(t, e, []Source{{Host: e.targets[0], Paths: []string{log.Path}, Sudo: []string{log.Path}}},
		Options{SinceLines: 2, RetryMin: 100 * time.Millisecond, RetryMax: 500 * time.Millisecond})
	waitFor(t, "the first lines", func() bool { return len(fileLines(c, host, log.Path)) >= 2 })
	drop := func(n int, lines ...string) {
		t.Helper()
		e.fleet.Hosts[0].Kill()
		waitFor(t, "dropped marker", func() bool { return len(c.of(host, KindDropped)) >= n })
		log.Append(t, lines...) // written while the host is down
		e.fleet.Hosts[0].Restart(t)
		waitFor(t, "reconnected marker", func() bool { return len(c.of(host, KindReconnected)) >= n })
	}
	drop(1, numbered("b", 1, 5)...)
	log.Append(t, "c 1")
	want := append(append(numbered("a", 1199, 1200), numbered("b", 1, 5)...), "c 1")
	waitFor(t, "the lines after the first drop", func() bool { return len(fileLines(c, host, log.Path)) >= len(want) })
	if got := strings.Join(fileLines(c, host, log.Path), "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("lines after the first drop:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	drop(2, numbered("d", 1, 1500)...)
	log.Append(t, "e 1")
	want = append(append(want, numbered("d", 501, 1500)...), "e 1")
	waitFor(t, "the lines after the second drop", func() bool { return len(fileLines(c, host, log.Path)) >= len(want) })
	if got := strings.Join(fileLines(c, host, log.Path), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("lines after the second drop: %d, want %d (d 501 .. d 1500, e 1)", len(fileLines(c, host, log.Path)), len(want))
	}
	if rec := c.of(host, KindReconnected); !strings.Contains(rec[1], "more than the 1000 lines read through sudo") || strings.Contains(rec[0], "more than") {
		t.Errorf("reconnected markers %q", rec)
	}
}
