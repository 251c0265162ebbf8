package remote

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
)

// testOptions trusts the fleet's known_hosts and uses no agent, whatever the
// environment of the test holds.
func testOptions(t *testing.T, f *sshtest.Fleet) Options {
	t.Helper()
	return Options{
		KnownHostsFiles:  []string{f.KnownHostsPath},
		KnownHostsPath:   filepath.Join(t.TempDir(), "opsui_known_hosts"),
		DialTimeout:      5 * time.Second,
		HandshakeTimeout: 5 * time.Second,
	}
}

// target returns the target of h logging in with the fleet's plain key.
func target(f *sshtest.Fleet, h *sshtest.Host) Target {
	return Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}
}

// newTestPool returns a pool closed with the test.
func newTestPool(t *testing.T, opts Options) *Pool {
	t.Helper()
	p := NewPool(opts)
	t.Cleanup(func() { p.Close() })
	return p
}

// runOn runs cmd on t through p and returns its trimmed output.
func runOn(ctx context.Context, p *Pool, t Target, cmd string) (string, error) {
	s, err := p.Session(ctx, t)
	if err != nil {
		return "", err
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return strings.TrimSpace(string(out)), err
}

// wantClass fails the test unless err is a *HostError of class for host.
func wantClass(t *testing.T, err error, host string, class ErrorClass) *HostError {
	t.Helper()
	var he *HostError
	if !errors.As(err, &he) {
		t.Fatalf("error %v (%T) is not a *HostError; want class %s", err, err, class)
	}
	if he.Class != class || he.Host != host {
		t.Fatalf("got host %q class %q (%v), want host %q class %q", he.Host, he.Class, err, host, class)
	}
	return he
}

// writeKey writes a new unencrypted ed25519 key and returns its path.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "id_other")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConnect(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	p := newTestPool(t, testOptions(t, f))
	h := f.Hosts[0]
	ctx := context.Background()
	start := time.Now()
	client, err := p.Client(ctx, target(f, h))
	if err != nil {
		t.Fatalf("Client: %v", err)
	}
	t.Logf("cold connect: %v", time.Since(start))
	if got := string(client.ClientVersion()); got != clientVersion {
		t.Errorf("client version %q, want %q", got, clientVersion)
	}
	out, err := runOn(ctx, p, target(f, h), "uname -n")
	if err != nil {
		t.Fatalf("uname: %v (%s)", err, out)
	}
	if f.Isolated && out != h.Name {
		t.Errorf("uname -n = %q, want %q", out, h.Name)
	}
}

func TestConnectNegotiatesFastAlgorithms(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1, sshtest.WithConfig("LogLevel DEBUG1"))
	p := newTestPool(t, testOptions(t, f))
	if _, err := p.Client(context.Background(), target(f, f.Hosts[0])); err != nil {
		t.Fatal(err)
	}
	log := f.Hosts[0].Log()
	for _, want := range []string{"kex: algorithm: curve25519-sha256", "cipher: aes128-gcm@openssh.com", "remote software version opsui"} {
		if !strings.Contains(log, want) {
			t.Errorf("sshd log lacks %q", want)
		}
	}
}

// TestConnectErrors has one case per class a connection attempt can fail
// with, each against a real sshd.
func TestConnectErrors(t *testing.T) {
	f := sshtest.Start(t, 2)
	ok, stopped := f.Hosts[0], f.Hosts[1]
	stopped.Stop()
	t.Cleanup(stopped.Cont)

	closedPort := func() string {
		port, err := testenv.FreePort(ok.Addr)
		if err != nil {
			t.Fatal(err)
		}
		return net.JoinHostPort(ok.Addr, strconv.Itoa(port))
	}()
	otherKey := writeKey(t, t.TempDir())

	tests := []struct {
		name    string
		target  func() Target
		opts    func(*Options)
		class   ErrorClass
		within  time.Duration
		message []string
	}{
		{
			name:    "unknown host key without a prompt",
			target:  func() Target { return target(f, ok) },
			opts:    func(o *Options) { o.KnownHostsFiles = nil },
			class:   ClassHostKeyUnknown,
			message: []string{"is unknown", ssh.FingerprintSHA256(ok.HostKey)},
		},
		{
			name: "key not authorized",
			target: func() Target {
				tg := target(f, ok)
				tg.IdentityFiles = []string{otherKey, filepath.Join(t.TempDir(), "missing")}
				return tg
			},
			class:   ClassAuth,
			message: []string{"no key was accepted", otherKey, "missing: no such file"},
		},
		{
			name:    "nothing listening",
			target:  func() Target { tg := target(f, ok); tg.Addr = closedPort; return tg },
			class:   ClassUnreachable,
			message: []string{"connection refused"},
		},
		{
			name:    "stopped sshd: handshake deadline",
			target:  func() Target { return target(f, stopped) },
			opts:    func(o *Options) { o.HandshakeTimeout = time.Second },
			class:   ClassTimeout,
			within:  4 * time.Second,
			message: []string{"no answer within 1s"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, f)
			if tt.opts != nil {
				tt.opts(&opts)
			}
			p := newTestPool(t, opts)
			tg := tt.target()
			start := time.Now()
			_, err := p.Client(context.Background(), tg)
			took := time.Since(start)
			he := wantClass(t, err, tg.Name, tt.class)
			for _, m := range tt.message {
				if !strings.Contains(he.Error(), m) {
					t.Errorf("error %q lacks %q", he, m)
				}
			}
			if tt.within > 0 && took > tt.within {
				t.Errorf("took %v, want at most %v", took, tt.within)
			}
			t.Logf("%v after %v", err, took.Round(time.Millisecond))
		})
	}
}

func TestConnectCancelDuringHandshake(t *testing.T) {
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	h.Stop()
	t.Cleanup(h.Cont)
	p := newTestPool(t, testOptions(t, f)) // handshake deadline 5s
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Client(ctx, target(f, h))
	took := time.Since(start)
	wantClass(t, err, h.Name, ClassCancelled)
	if took > 2*time.Second {
		t.Errorf("cancel took %v to return", took)
	}
	// The abandoned dial is cancelled too: Close does not wait for it.
	closeStart := time.Now()
	p.Close()
	if d := time.Since(closeStart); d > 2*time.Second {
		t.Errorf("Close took %v: the abandoned dial lingered", d)
	}

	// A caller's deadline is a timeout.
	p2 := newTestPool(t, testOptions(t, f))
	ctx2, cancel2 := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel2()
	_, err = p2.Client(ctx2, target(f, h))
	wantClass(t, err, h.Name, ClassTimeout)
}

// TestConnectDelayedPrompt shows that a prompt does not count against the
// handshake deadline.
func TestConnectDelayedPrompt(t *testing.T) {
	f := sshtest.Start(t, 1)
	opts := testOptions(t, f)
	opts.KnownHostsFiles = nil
	opts.HandshakeTimeout = 700 * time.Millisecond
	opts.AcceptHostKey = func(ctx context.Context, _ HostKeyPrompt) (bool, error) {
		select {
		case <-time.After(1500 * time.Millisecond): // a human reading the fingerprint
			return true, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
	p := newTestPool(t, opts)
	if _, err := p.Client(context.Background(), target(f, f.Hosts[0])); err != nil {
		t.Fatalf("Client: %v", err)
	}
}

// recordDials makes opts record every address dialed directly.
func recordDials(opts *Options) func() []string {
	var mu sync.Mutex
	var dialed []string
	d := &net.Dialer{}
	opts.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialed = append(dialed, addr)
		mu.Unlock()
		return d.DialContext(ctx, network, addr)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(dialed)
	}
}

// forwardedTo reports whether h's sshd (at LogLevel DEBUG1) opened a
// direct-tcpip channel to to.
func forwardedTo(h, to *sshtest.Host) bool {
	return strings.Contains(h.Log(), fmt.Sprintf("target %s port %d", to.Addr, to.Port))
}

func TestProxyJump(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 4, sshtest.WithConfig("LogLevel DEBUG1"))
	a, b, c, d := f.Hosts[0], f.Hosts[1], f.Hosts[2], f.Hosts[3]
	opts := testOptions(t, f)
	dialed := recordDials(&opts)
	p := newTestPool(t, opts)
	ctx := context.Background()

	viaA := target(f, b)
	viaA.Jumps = []Target{target(f, a)}
	out, err := runOn(ctx, p, viaA, "uname -n")
	if err != nil {
		t.Fatalf("through %s: %v", a.Name, err)
	}
	if f.Isolated && out != b.Name {
		t.Errorf("uname -n = %q, want %q", out, b.Name)
	}
	if !forwardedTo(a, b) {
		t.Errorf("%s's log shows no direct-tcpip to %s", a.Name, b.Name)
	}

	// A chain of two jumps, resolved from ssh_config; the first hop is
	// shared with the connection above.
	base, err := os.ReadFile(f.SSHConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cfgText := fmt.Sprintf("Host %s\n  ProxyJump %s,%s\n\n%s", c.Name, a.Name, b.Name, base)
	cfgPath := filepath.Join(t.TempDir(), "ssh_config")
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadSSHConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	chained, err := ResolveTarget(inventory.Host{Name: c.Name, Address: c.Name}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(chained.Jumps) != 2 || chained.Jumps[0].Addr != a.Address() || chained.Jumps[1].Addr != b.Address() {
		t.Fatalf("resolved jumps %+v", chained.Jumps)
	}
	out, err = runOn(ctx, p, chained, "uname -n")
	if err != nil {
		t.Fatalf("through %s,%s: %v", a.Name, b.Name, err)
	}
	if f.Isolated && out != c.Name {
		t.Errorf("uname -n = %q, want %q", out, c.Name)
	}
	if !forwardedTo(b, c) {
		t.Errorf("%s's log shows no direct-tcpip to %s", b.Name, c.Name)
	}
	if forwardedTo(a, c) {
		t.Errorf("%s reached %s directly, not through %s", a.Name, c.Name, b.Name)
	}
	for _, addr := range dialed() {
		if addr != a.Address() {
			t.Errorf("dialed %s directly; only %s should be", addr, a.Address())
		}
	}
	st := p.Stats()
	if n := st.Dials[jumpKey(viaA.Jumps)]; n != 1 {
		t.Errorf("bastion dialed %d times, want once: %v", n, st.Dials)
	}
	if len(dialed()) != 1 {
		t.Errorf("direct dials %v, want one", dialed())
	}

	// A jump host that refuses to reach the next hop: unreachable, naming
	// the hop.
	bad := target(f, d)
	bad.Addr = net.JoinHostPort(d.Addr, "1")
	bad.Jumps = []Target{target(f, a)}
	_, err = p.Client(ctx, bad)
	wantClass(t, err, d.Name, ClassUnreachable)

	// The bastion dies: everything behind it goes, and comes back with it.
	a.Kill()
	testenv.WaitFor(t, 5*time.Second, "connections behind the dead bastion to drop", func() bool { return len(p.Stats().Open) == 0 })
	_, err = p.Client(ctx, viaA)
	he := wantClass(t, err, b.Name, ClassUnreachable)
	if !strings.Contains(he.Error(), "via jump host "+a.Name) {
		t.Errorf("error %q does not name the jump host", he)
	}
	a.Restart(t)
	if out, err := runOn(ctx, p, chained, "echo back"); err != nil || out != "back" {
		t.Fatalf("after the bastion restarted: %q, %v", out, err)
	}
}
