package remote

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/opsui/opsui/internal/sshtest"
)

func TestHostKeyAccept(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 4)
	for _, hash := range []bool{false, true} {
		name := "plain"
		if hash {
			name = "hashed"
		}
		t.Run(name, func(t *testing.T) {
			own := filepath.Join(t.TempDir(), "data", "opsui", "known_hosts")
			var prompts atomic.Int32
			var mu sync.Mutex
			seen := make(map[string]HostKeyPrompt)
			opts := testOptions(t, f)
			opts.KnownHostsFiles = []string{filepath.Join(t.TempDir(), "absent")}
			opts.KnownHostsPath = own
			opts.HashKnownHosts = hash
			opts.AcceptHostKey = func(_ context.Context, p HostKeyPrompt) (bool, error) {
				prompts.Add(1)
				mu.Lock()
				seen[p.Host] = p
				mu.Unlock()
				return true, nil
			}
			p := newTestPool(t, opts)
			var wg sync.WaitGroup
			for _, h := range f.Hosts {
				wg.Go(func() {
					if _, err := p.Client(context.Background(), target(f, h)); err != nil {
						t.Errorf("Client(%s): %v", h.Name, err)
					}
				})
			}
			wg.Wait()
			if n := prompts.Load(); n != int32(len(f.Hosts)) {
				t.Fatalf("%d prompts, want %d", n, len(f.Hosts))
			}
			for _, h := range f.Hosts {
				pr := seen[h.Name]
				if pr.Addr != h.Address() || pr.KeyType != ssh.KeyAlgoED25519 || pr.Fingerprint != ssh.FingerprintSHA256(h.HostKey) {
					t.Errorf("prompt for %s: %+v", h.Name, pr)
				}
			}
			fi, err := os.Stat(own)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v, want 0600", own, fi.Mode().Perm())
			}
			data, _ := os.ReadFile(own)
			if lines := strings.Count(string(data), "\n"); lines != len(f.Hosts) {
				t.Errorf("%d lines in %s, want %d:\n%s", lines, own, len(f.Hosts), data)
			}
			if hash != strings.HasPrefix(string(data), "|1|") {
				t.Errorf("hashed=%v but file reads:\n%s", hash, data)
			}
			check, err := knownhosts.New(own)
			if err != nil {
				t.Fatalf("written file does not parse: %v", err)
			}
			for _, h := range f.Hosts {
				if err := check(h.Address(), probeAddr, h.HostKey); err != nil {
					t.Errorf("written file does not vouch for %s: %v", h.Name, err)
				}
			}

			// No prompt again: neither after Forget nor from a new pool.
			h := f.Hosts[0]
			p.Forget(h.Name)
			if _, err := p.Client(context.Background(), target(f, h)); err != nil {
				t.Fatal(err)
			}
			p2 := newTestPool(t, opts)
			if out, err := runOn(context.Background(), p2, target(f, h), "echo ok"); err != nil || out != "ok" {
				t.Fatalf("new pool: %q, %v", out, err)
			}
			if n := prompts.Load(); n != int32(len(f.Hosts)) {
				t.Errorf("asked again: %d prompts", n)
			}
		})
	}
}

func TestHostKeyRefused(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	boom := errors.New("prompt closed")
	for _, tt := range []struct {
		name   string
		answer func() (bool, error)
		want   error
	}{
		{"user says no", func() (bool, error) { return false, nil }, ErrHostKeyRefused},
		{"prompt fails", func() (bool, error) { return false, boom }, boom},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t, f)
			opts.KnownHostsFiles = nil
			opts.AcceptHostKey = func(context.Context, HostKeyPrompt) (bool, error) { return tt.answer() }
			_, err := newTestPool(t, opts).Client(context.Background(), target(f, h))
			wantClass(t, err, h.Name, ClassHostKeyUnknown)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v does not wrap %v", err, tt.want)
			}
			if _, statErr := os.Stat(opts.KnownHostsPath); statErr == nil {
				t.Errorf("a refused key was recorded")
			}
		})
	}
}

func TestHostKeyChanged(t *testing.T) {
	t.Parallel()
	f := sshtest.Start(t, 1)
	h := f.Hosts[0]
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	impostor, _ := ssh.NewPublicKey(pub)
	for _, tt := range []struct {
		name  string
		lines []string
		want  []string
	}{
		{
			name:  "other key",
			lines: []string{"# opsui test", knownhosts.Line([]string{h.Address()}, impostor)},
			want: []string{"REMOTE HOST IDENTIFICATION HAS CHANGED", h.Name, ssh.FingerprintSHA256(h.HostKey),
				ssh.FingerprintSHA256(impostor), ":2)"},
		},
		{
			name:  "revoked",
			lines: []string{"@revoked " + knownhosts.Line([]string{h.Address()}, h.HostKey)},
			want:  []string{"REVOKED", ssh.FingerprintSHA256(h.HostKey), ":1"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			known := filepath.Join(t.TempDir(), "known_hosts")
			if err := os.WriteFile(known, []byte(strings.Join(tt.lines, "\n")+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			opts := testOptions(t, f)
			opts.KnownHostsFiles = []string{known}
			opts.AcceptHostKey = func(context.Context, HostKeyPrompt) (bool, error) {
				t.Error("a changed key reached the prompt")
				return true, nil
			}
			_, err := newTestPool(t, opts).Client(context.Background(), target(f, h))
			he := wantClass(t, err, h.Name, ClassHostKeyChanged)
			for _, w := range tt.want {
				if !strings.Contains(he.Error(), w) {
					t.Errorf("message lacks %q:\n%s", w, he)
				}
			}
			var hk *HostKeyError
			if !errors.As(err, &hk) {
				t.Fatalf("%v is no *HostKeyError", err)
			}
			if len(hk.Known) > 0 {
				w := hk.Warning()
				if !strings.Contains(w, "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @") || !strings.Contains(w, known+":2") {
					t.Errorf("warning:\n%s", w)
				}
				t.Logf("\n%s", w)
			}
		})
	}
}

// TestHostKeyKnownAlgorithmPreferred gives hosts an ECDSA key besides their
// ed25519 one. The ssh package asks for ECDSA before ed25519 by default, so
// without the preference for known algorithms a host whose ed25519 key is
// known would look changed.
func TestHostKeyKnownAlgorithmPreferred(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "ssh_host_ecdsa_key")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	ecdsaPub, _ := ssh.NewPublicKey(&priv.PublicKey)
	f := sshtest.Start(t, 1, sshtest.WithConfig("HostKey "+keyPath))
	h := f.Hosts[0]

	// The premise: the ssh package's default order picks ECDSA.
	plain := f.ClientConfig(t)
	plain.Timeout = 5 * time.Second
	if c, err := ssh.Dial("tcp", h.Address(), plain); err == nil {
		c.Close()
		t.Log("the ssh package's defaults already prefer ed25519; the test proves less")
	}

	ecdsaOnly := filepath.Join(dir, "known_ecdsa")
	if err := os.WriteFile(ecdsaOnly, []byte(knownhosts.Line([]string{h.Address()}, ecdsaPub)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, known := range []string{f.KnownHostsPath, ecdsaOnly} {
		opts := testOptions(t, f)
		opts.KnownHostsFiles = []string{known}
		if _, err := newTestPool(t, opts).Client(context.Background(), target(f, h)); err != nil {
			t.Errorf("with %s: %v", filepath.Base(known), err)
		}
	}
}
