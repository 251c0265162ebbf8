// Package remotetest starts a fleet of real sshd hosts (internal/sshtest)
// with a pool of the SSH engine (ops/remote) that reaches them, for the
// tests of the packages above the engine.
package remotetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/ops/remote"
)

// Env is a started fleet, a pool that trusts its host keys, and a target
// per host.
type Env struct {
	Fleet   *sshtest.Fleet
	Pool    *remote.Pool
	Targets []remote.Target
}

// Start starts n sshd hosts; the pool is closed when the test ends.
func Start(t testing.TB, n int, opts ...sshtest.Option) *Env {
	t.Helper()
	f := sshtest.Start(t, n, opts...)
	p := remote.NewPool(remote.Options{
		KnownHostsFiles: []string{f.KnownHostsPath},
		DialTimeout:     5 * time.Second,
		KeepAlive:       -1,
	})
	t.Cleanup(func() { p.Close() })
	e := &Env{Fleet: f, Pool: p}
	for _, h := range f.Hosts {
		e.Targets = append(e.Targets, remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	return e
}

// Log keeps the events it is given, for a test to read; it is safe for
// concurrent use, as an emit must be.
type Log struct {
	mu      sync.Mutex
	events  []remote.Event
	started chan string
}

// NewLog returns an empty log.
func NewLog() *Log { return &Log{started: make(chan string, 1024)} }

// Emit keeps ev.
func (l *Log) Emit(ev remote.Event) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	if ev.Kind == remote.EventStarted {
		l.started <- ev.Host
	}
}

// Text is host's lines of kind, each ended by a newline.
func (l *Log) Text(host string, kind remote.EventKind) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, ev := range l.events {
		if ev.Host == host && ev.Kind == kind {
			b.WriteString(ev.Line + "\n")
		}
	}
	return b.String()
}

// WaitStarted waits until n commands started (10s at most), then a moment
// more for the remote shells to fork.
func (l *Log) WaitStarted(t testing.TB, n int) {
	t.Helper()
	for range n {
		select {
		case <-l.started:
		case <-time.After(10 * time.Second):
			t.Error("commands did not start")
			return
		}
	}
	time.Sleep(100 * time.Millisecond)
}
