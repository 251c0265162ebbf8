package remote

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
)

// countingPassphrase answers every prompt with answer and counts them.
func countingPassphrase(answer string, n *atomic.Int32, paths *sync.Map) func(context.Context, string) ([]byte, error) {
	return func(_ context.Context, path string) ([]byte, error) {
		n.Add(1)
		paths.Store(path, true)
		return []byte(answer), nil
	}
}

func TestPassphraseAskedOnce(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 3)
	var n atomic.Int32
	var paths sync.Map
	opts := testOptions(t, f)
	opts.Passphrase = countingPassphrase(f.Passphrase, &n, &paths)
	p := newTestPool(t, opts)
	var wg sync.WaitGroup
	for _, h := range f.Hosts {
		wg.Go(func() {
			tg := target(f, h)
			tg.IdentityFiles = []string{filepath.Join(t.TempDir(), "missing"), f.EncryptedKeyPath}
			if out, err := runOn(context.Background(), p, tg, "echo ok"); err != nil || out != "ok" {
				t.Errorf("%s: %q, %v", h.Name, out, err)
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got != 1 {
		t.Errorf("asked %d times for %d hosts, want once", got, len(f.Hosts))
	}
	if _, ok := paths.Load(f.EncryptedKeyPath); !ok {
		t.Errorf("the prompt was not given the key path")
	}
}

func TestPassphraseNotAskedUnlessNeeded(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	var n atomic.Int32
	var paths sync.Map
	opts := testOptions(t, f)
	opts.Passphrase = countingPassphrase(f.Passphrase, &n, &paths)
	tg := target(f, f.Hosts[0])
	tg.IdentityFiles = []string{f.ClientKeyPath, f.EncryptedKeyPath}
	if _, err := newTestPool(t, opts).Client(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	if n.Load() != 0 {
		t.Errorf("asked for the passphrase of a key that was not needed")
	}
}

func TestPassphraseWrong(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 2)
	var n atomic.Int32
	var paths sync.Map
	opts := testOptions(t, f)
	opts.Passphrase = countingPassphrase("not it", &n, &paths)
	p := newTestPool(t, opts)
	for i, h := range f.Hosts {
		tg := target(f, h)
		tg.IdentityFiles = []string{f.EncryptedKeyPath}
		_, err := p.Client(context.Background(), tg)
		he := wantClass(t, err, h.Name, ClassAuth)
		msg := he.Error()
		if !strings.Contains(msg, f.EncryptedKeyPath) || !strings.Contains(msg, "wrong passphrase") {
			t.Errorf("host %d: message %q should name the key and the wrong passphrase", i, msg)
		}
		t.Log(msg)
	}
	if got := n.Load(); got != passphraseTries {
		t.Errorf("asked %d times, want %d (then never again)", got, passphraseTries)
	}

	// No prompt at all.
	opts.Passphrase = nil
	tg := target(f, f.Hosts[0])
	tg.IdentityFiles = []string{f.EncryptedKeyPath}
	_, err := newTestPool(t, opts).Client(context.Background(), tg)
	var pe *PassphraseError
	if wantClass(t, err, tg.Name, ClassAuth); !errors.As(err, &pe) || pe.Path != f.EncryptedKeyPath {
		t.Errorf("got %v, want a PassphraseError for %s", err, f.EncryptedKeyPath)
	}
}

// startAgent runs a real ssh-agent holding keys and returns its socket.
func startAgent(t *testing.T, keys ...string) string {
	t.Helper()
	testenv.RequireProgram(t, "ssh-agent", "openssh-client")
	sock := filepath.Join(t.TempDir(), "agent.sock")
	cmd := exec.Command("ssh-agent", "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// The socket file appears at bind, a moment before the agent listens:
	// wait until it answers a connection.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, k := range keys {
		add := exec.Command("ssh-add", k)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add %s: %v\n%s", k, err, out)
		}
	}
	return sock
}

func TestAgent(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	sock := startAgent(t, f.ClientKeyPath)

	opts := testOptions(t, f)
	opts.AgentSocket = sock
	tg := target(f, h)
	tg.IdentityFiles = nil
	p := newTestPool(t, opts)
	if out, err := runOn(context.Background(), p, tg, "echo ok"); err != nil || out != "ok" {
		t.Fatalf("login through the agent: %q, %v", out, err)
	}

	// Forwarding is off unless the target asks for it.
	if out, err := runOn(context.Background(), p, tg, "ssh-add -l"); err == nil {
		t.Errorf("agent forwarded without ForwardAgent: %s", out)
	}
	tg.ForwardAgent = true
	p.Forget(tg.Name)
	out, err := runOn(context.Background(), p, tg, "ssh-add -l")
	if err != nil || !strings.Contains(out, ssh.FingerprintSHA256(f.ClientSigner.PublicKey())) {
		t.Errorf("ssh-add -l on the host with ForwardAgent: %q, %v", out, err)
	}
	// A second session on the same connection forwards too.
	if out, err := runOn(context.Background(), p, tg, "ssh-add -l"); err != nil {
		t.Errorf("second session: %q, %v", out, err)
	}
}

func TestAgentDeadSocketSkipped(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	opts := testOptions(t, f)
	opts.AgentSocket = filepath.Join(t.TempDir(), "gone.sock")
	if _, err := newTestPool(t, opts).Client(context.Background(), target(f, f.Hosts[0])); err != nil {
		t.Fatalf("a dead agent socket must be skipped: %v", err)
	}
}
