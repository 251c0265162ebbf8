package remote

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
)

var _ Connector = (*Pool)(nil)

func TestPoolSharesConnection(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	p := newTestPool(t, testOptions(t, f))
	ctx := context.Background()
	c1, err := p.Client(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	c2, err := p.Client(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if out, err := runOn(ctx, p, target(f, h), "echo ok"); err != nil || out != "ok" {
			t.Fatalf("session: %q, %v", out, err)
		}
	}
	if c1 != c2 {
		t.Error("two clients for one host")
	}
	if n := p.Stats().Dials[h.Name]; n != 1 {
		t.Errorf("%d dials, want 1", n)
	}
}

func TestPoolConcurrentDials(t *testing.T) {
	t.Parallel()
	const hosts, callers = 10, 50
	f := sshtest.Start(t, hosts)
	p := newTestPool(t, testOptions(t, f))
	var mu sync.Mutex
	clients := make(map[string]map[*ssh.Client]bool)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range callers {
		h := f.Hosts[i%hosts]
		wg.Go(func() {
			<-start
			c, err := p.Client(context.Background(), target(f, h))
			if err != nil {
				t.Errorf("%s: %v", h.Name, err)
				return
			}
			mu.Lock()
			if clients[h.Name] == nil {
				clients[h.Name] = make(map[*ssh.Client]bool)
			}
			clients[h.Name][c] = true
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	st := p.Stats()
	for _, h := range f.Hosts {
		if st.Dials[h.Name] != 1 || len(clients[h.Name]) != 1 {
			t.Errorf("%s: %d dials, %d clients; want 1 and 1", h.Name, st.Dials[h.Name], len(clients[h.Name]))
		}
	}
}

// TestPoolWaiterCancel: one caller giving up does not cancel the dial the
// other caller waits for.
func TestPoolWaiterCancel(t *testing.T) {
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	h.Stop()
	p := newTestPool(t, testOptions(t, f)) // handshake deadline 5s
	ctx, cancel := context.WithCancel(context.Background())
	quitter := make(chan error, 1)
	go func() {
		_, err := p.Client(ctx, target(f, h))
		quitter <- err
	}()
	stayer := make(chan error, 1)
	go func() {
		_, err := p.Client(context.Background(), target(f, h))
		stayer <- err
	}()
	testenv.WaitFor(t, 2*time.Second, "dial to start", func() bool { return p.Stats().Dials[h.Name] == 1 })
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-quitter:
		wantClass(t, err, h.Name, ClassCancelled)
	case <-time.After(3 * time.Second):
		t.Fatal("the cancelled caller still waits")
	}
	time.Sleep(100 * time.Millisecond)
	h.Cont()
	select {
	case err := <-stayer:
		if err != nil {
			t.Fatalf("the patient caller failed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the patient caller got nothing")
	}
	if n := p.Stats().Dials[h.Name]; n != 1 {
		t.Errorf("%d dials, want the one shared dial", n)
	}
}

func TestPoolRedialAfterRestart(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	p := newTestPool(t, testOptions(t, f))
	ctx := context.Background()
	if out, err := runOn(ctx, p, target(f, h), "echo one"); err != nil || out != "one" {
		t.Fatalf("%q, %v", out, err)
	}
	old, _ := p.Client(ctx, target(f, h))
	h.Kill()
	h.Restart(t)
	if out, err := runOn(ctx, p, target(f, h), "echo two"); err != nil || out != "two" {
		t.Fatalf("after restart: %q, %v", out, err)
	}
	c, err := p.Client(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	if c == old {
		t.Error("the dead client was handed out again")
	}
	if n := p.Stats().Dials[h.Name]; n != 2 {
		t.Errorf("%d dials, want 2", n)
	}

	// A caller that only knows Connector: a failed NewSession on the dead
	// client drops it at once, so asking again gives a live one.
	h.Kill()
	h.Restart(t)
	var s *ssh.Session
	for attempt := 0; attempt < 2 && s == nil; attempt++ {
		c, err := p.Client(ctx, target(f, h))
		if err != nil {
			t.Fatal(err)
		}
		s, err = c.NewSession()
		t.Logf("attempt %d: %v", attempt, err)
	}
	if s == nil {
		t.Fatal("no session after one retry")
	}
	s.Close()
}

func TestPoolKeepAlive(t *testing.T) {
	const interval = 250 * time.Millisecond
	f := sshtest.Start(t, 2)
	opts := testOptions(t, f)
	opts.KeepAlive = interval
	p := newTestPool(t, opts)
	ctx := context.Background()
	for _, h := range f.Hosts {
		if _, err := p.Client(ctx, target(f, h)); err != nil {
			t.Fatal(err)
		}
	}
	// Alive hosts answer keepalives: nothing is dropped.
	time.Sleep(3 * interval)
	if n := len(p.Stats().Open); n != 2 {
		t.Fatalf("%d connections open, want 2", n)
	}

	hung, killed := f.Hosts[0], f.Hosts[1]
	gone := func(name string) func() bool {
		return func() bool { _, ok := p.Stats().Open[name]; return !ok }
	}
	hung.Stop()
	t.Cleanup(hung.Cont)
	took := testenv.WaitFor(t, 10*interval, "drop of the hung host", gone(hung.Name))
	t.Logf("hung host dropped after %v (keepalive %v)", took.Round(time.Millisecond), interval)
	if took > 4*interval { // two intervals, and slack for a loaded machine
		t.Errorf("took %v, want about two keepalive intervals", took)
	}
	killed.Kill()
	took = testenv.WaitFor(t, 10*interval, "drop of the killed host", gone(killed.Name))
	t.Logf("killed host dropped after %v", took.Round(time.Millisecond))
}

func TestPoolIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	opts := testOptions(t, f)
	opts.IdleTimeout = idle
	p := newTestPool(t, opts)
	ctx := context.Background()
	open := func() bool { _, ok := p.Stats().Open[h.Name]; return ok }

	client, err := p.Client(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	took := testenv.WaitFor(t, 10*idle, "idle close", func() bool { return !open() })
	t.Logf("idle connection closed after %v", took.Round(time.Millisecond))
	if took < idle-50*time.Millisecond {
		t.Errorf("closed after %v, before the idle timeout %v", took, idle)
	}
	if err := client.Wait(); err == nil {
		t.Log("closed cleanly")
	}

	// A lease keeps it.
	lease, err := p.Acquire(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * idle)
	if !open() {
		t.Fatal("a leased connection was closed as idle")
	}
	lease.Release()
	lease.Release() // harmless
	testenv.WaitFor(t, 10*idle, "idle close after release", func() bool { return !open() })

	// So does an open session, with no lease.
	s, err := p.Session(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start("sleep 1.5"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * idle)
	if !open() || p.Stats().Open[h.Name] != 1 {
		t.Fatalf("a connection with a running session was closed as idle (stats %v)", p.Stats())
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("the session was cut: %v", err)
	}
	s.Close()
	testenv.WaitFor(t, 10*idle, "idle close after the session", func() bool { return !open() })
	if n := p.Stats().Dials[h.Name]; n != 3 {
		t.Errorf("%d dials, want 3", n)
	}
}

func TestPoolForget(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	p := newTestPool(t, testOptions(t, f))
	ctx := context.Background()
	s, err := p.Session(ctx, target(f, h))
	if err != nil {
		t.Fatal(err)
	}
	old, _ := p.Client(ctx, target(f, h))
	p.Forget(h.Name)
	// The running session goes on; new work gets a new connection.
	out, err := s.Output("echo still")
	if err != nil || string(out) != "still\n" {
		t.Fatalf("session after Forget: %q, %v", out, err)
	}
	c, err := p.Client(ctx, target(f, h))
	if err != nil || c == old {
		t.Fatalf("after Forget: %v (same client: %v)", err, c == old)
	}
	s.Close()
	waited := make(chan error, 1)
	go func() { waited <- old.Wait() }()
	select {
	case <-waited:
	case <-time.After(5 * time.Second):
		t.Fatal("the forgotten connection stayed open after its last session")
	}

	// A changed target (its inventory entry was edited) retires the
	// connection by itself.
	changed := target(f, h)
	changed.IdentityFiles = append(changed.IdentityFiles, "/nonexistent/key")
	c2, err := p.Client(ctx, changed)
	if err != nil || c2 == c {
		t.Fatalf("changed target: %v (same client: %v)", err, c2 == c)
	}
	if err := c.Wait(); err == nil {
		t.Log("old connection closed")
	}
	if n := p.Stats().Dials[h.Name]; n != 3 {
		t.Errorf("%d dials, want 3", n)
	}
}

func TestPoolClose(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 2)
	p := NewPool(testOptions(t, f))
	ctx := context.Background()
	var clients []*ssh.Client
	for _, h := range f.Hosts {
		c, err := p.Client(ctx, target(f, h))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		if _, _, err := c.SendRequest("keepalive@openssh.com", true, nil); err == nil {
			t.Error("a client still works after Close")
		}
	}
	_, err := p.Client(ctx, target(f, f.Hosts[0]))
	if !errors.Is(err, ErrPoolClosed) {
		t.Errorf("Client after Close: %v, want ErrPoolClosed", err)
	}
	wantClass(t, err, f.Hosts[0].Name, ClassCancelled)
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestPoolColdFanOut connects to 50 hosts (OPSUI_TEST_FANOUT overrides) at
// once and runs a command on each, cold then warm, and logs the timings.
func TestPoolColdFanOut(t *testing.T) {
	n := testenv.EnvInt(t, "OPSUI_TEST_FANOUT", 50)
	f := sshtest.Start(t, n)
	all := func(fn func(h *sshtest.Host)) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for _, h := range f.Hosts {
			wg.Go(func() { fn(h) })
		}
		wg.Wait()
		return time.Since(start)
	}
	dialOnly := newTestPool(t, testOptions(t, f))
	dial := all(func(h *sshtest.Host) {
		if _, err := dialOnly.Client(context.Background(), target(f, h)); err != nil {
			t.Errorf("%s: %v", h.Name, err)
		}
	})
	p := newTestPool(t, testOptions(t, f))
	uname := func(h *sshtest.Host) {
		out, err := runOn(context.Background(), p, target(f, h), "uname -n")
		if err != nil || (f.Isolated && out != h.Name) {
			t.Errorf("%s: %q, %v", h.Name, out, err)
		}
	}
	cold := all(uname)
	warm := all(uname)
	t.Logf("%d hosts: connect only %v; uname -n cold (connect+session) %v, warm (pooled) %v",
		n, dial.Round(time.Millisecond), cold.Round(time.Millisecond), warm.Round(time.Millisecond))
	for _, h := range f.Hosts {
		if d := p.Stats().Dials[h.Name]; d != 1 {
			t.Errorf("%s dialed %d times", h.Name, d)
		}
	}
}
