// Package sshtest starts fleets of real OpenSSH sshd hosts on loopback for
// the tests of every opsui package.
//
// Each host is a separate /usr/sbin/sshd with its own ed25519 host key, its
// own loopback address (a random 127.x.y.0/24 block per fleet, one address
// per host) and a free port. Every host accepts the fleet's client keys for
// the current user, and the fleet writes a known_hosts file and an ssh_config
// file that both golang.org/x/crypto/ssh and the OpenSSH client can use.
//
// When the test runs as root (the normal case on the opsui test machines),
// each sshd runs in its own UTS, mount and PID namespaces:
//
//   - `uname -n` on the host answers the host's name;
//   - the host's own, initially empty [Host.Home] directory is bind-mounted
//     over the login user's home, so every host has a clean, private home
//     (no ~/.bashrc: root's real one runs a slow pyenv init) and the mount
//     never shows in the test's own mount namespace;
//   - the sshd is the init process of its PID namespace, so killing it kills
//     every process started on the host, daemons included, and /proc on the
//     host shows only the host's processes.
//
// Pids inside a host are those of its PID namespace, not the test's: signal
// a host's processes through the host (over SSH), not by a pid it reported.
//
// Without root there are no namespaces: every host shares the machine's
// hostname and the user's real home directory (with its shell start-up
// files), and [Host.Kill] can only reach the sshd and the processes still
// descended from it. A command whose client went away (sshd leaves a command
// without a pty running) or a daemon that detached survives until it exits
// by itself. [Fleet.Isolated] tells which mode a fleet runs in.
//
// With [WithUser] (or [WithDeployUser]) every host logs in as an ordinary
// user instead, as production hosts do: created once on the machine, each
// host's own home mounted over its home, /etc (and so sudoers, which
// [Sudoers] writes for a test) shared by all. That needs root.
//
// Clients reach every host from 127.0.0.1, whatever the host's address.
//
// Typical use:
//
//	f := sshtest.Start(t, 3)
//	client, err := ssh.Dial("tcp", f.Hosts[0].Address(), f.ClientConfig(t))
//
// The sshd processes die with the test binary even when it crashes or times
// out (they are started with a parent-death signal). If /usr/sbin/sshd is
// missing, [Start] skips the test, or fails it when the environment variable
// OPSUI_TEST_REQUIRE_SSHD is 1 (as `make test` sets it).
package sshtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHDPath is the sshd binary every host runs. sshd refuses to re-execute
// itself unless it is started by its absolute path.
const SSHDPath = "/usr/sbin/sshd"

// RequireEnv names the environment variable that turns a missing sshd from a
// skipped test into a failed one when it is set to "1".
//
// Deprecated: use [testenv.RequireEnv], or better [testenv.RequireProgram]
// and [testenv.Missing], which apply it.
const RequireEnv = testenv.RequireEnv

// passphrase protects the key at [Fleet.EncryptedKeyPath].
const passphrase = "sshtest passphrase"

// Fleet is a set of running sshd hosts and the client-side files to reach
// them. Its fields must not be modified.
type Fleet struct {
	Dir   string  // temporary directory holding every file of the fleet
	Hosts []*Host // in the order of WithNames (default web1 ... webN)
	User  string  // login user on every host: the current user, or WithUser's

	// LoginHome is the login user's home directory as the hosts see it
	// (each host mounts its own [Host.Home] there when isolated).
	LoginHome string

	// ClientKeyPath is an unencrypted ed25519 private key in OpenSSH format,
	// authorized on every host; ClientSigner is the same key.
	ClientKeyPath string
	ClientSigner  ssh.Signer

	// EncryptedKeyPath is a second ed25519 key, also authorized on every
	// host, encrypted with Passphrase.
	EncryptedKeyPath string
	Passphrase       string

	// KnownHostsPath lists every host's key under "[addr]:port".
	KnownHostsPath string

	// SSHConfigPath is an OpenSSH client config with one Host entry per host
	// name (HostName, Port, User, IdentityFile, UserKnownHostsFile and
	// StrictHostKeyChecking yes), so `ssh -F SSHConfigPath web1 cmd` works.
	SSHConfigPath string

	// Isolated reports whether each host runs in its own namespaces (own
	// hostname, home, and process tree); it is true when running as root.
	Isolated bool

	encryptedKey ed25519.PrivateKey // written to EncryptedKeyPath by bootAll
	proxies      []*delayProxy      // WithLatency's, before each host
}

// Option configures [Start].
type Option func(*options)

type options struct {
	names       []string
	env         map[string]string
	hostEnv     func(name string) map[string]string
	maxSessions int
	extra       []string
	noIsolation bool                           // tests of the fallback path set it
	user        string                         // WithUser: an ordinary login user
	freePort    func(addr string) (int, error) // tests replace it to force port collisions
	latency     time.Duration                  // WithLatency: the round trip of a proxy before each sshd

	envs map[string]map[string]string // by host name, from env and hostEnv
}

// WithNames names the hosts; it must give exactly n names. Names are used as
// hostnames: letters, digits, '-' and '.', at most 63 characters. The default
// names are web1 ... webN.
func WithNames(names ...string) Option {
	return func(o *options) { o.names = append([]string(nil), names...) }
}

// WithEnv sets environment variables in every session on every host (sshd's
// SetEnv).
func WithEnv(env map[string]string) Option {
	return func(o *options) { o.env = env }
}

// WithHostEnv sets per-host environment variables: fn is called with each
// host's name and its result overrides [WithEnv] for that host.
func WithHostEnv(fn func(name string) map[string]string) Option {
	return func(o *options) { o.hostEnv = fn }
}

// WithMaxSessions sets sshd's MaxSessions, the number of sessions one
// connection may have open at once (default 100; sshd's own default is 10).
func WithMaxSessions(n int) Option {
	return func(o *options) { o.maxSessions = n }
}

// WithConfig adds lines to every host's sshd_config. They come before the
// harness's own settings, so they override them: sshd keeps the first value
// it reads for most keywords. Match blocks are not supported.
func WithConfig(lines ...string) Option {
	return func(o *options) { o.extra = append(o.extra, lines...) }
}

// Start launches n real sshd hosts on loopback, waits until every one of them
// answers with an SSH banner, and registers their shutdown with t.Cleanup:
// every sshd and every process started on the hosts is killed and waited for,
// then the fleet's directory is removed.
func Start(t testing.TB, n int, opts ...Option) *Fleet {
	t.Helper()
	requireSSHD(t)
	o, err := newOptions(n, opts)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	f, err := newFleet(t, t.TempDir(), n, o)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(f.shutdown)
	start := time.Now()
	if err := f.bootAll(); err != nil {
		t.Fatalf("sshtest: starting %d hosts: %v", n, err)
	}
	if o.latency > 0 {
		if err := f.delayProxies(o.latency); err != nil {
			t.Fatalf("sshtest: the proxies of WithLatency: %v", err)
		}
	}
	if err := f.writeClientFiles(); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	t.Logf("sshtest: %d sshd hosts up in %v (isolated: %v)", n, time.Since(start).Round(time.Millisecond), f.Isolated)
	if o.latency > 0 {
		t.Logf("sshtest: every host behind a proxy adding a %v round trip", o.latency)
	}
	return f
}

// Host returns the host with the given name, or nil.
func (f *Fleet) Host(name string) *Host {
	for _, h := range f.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// ClientConfig returns a client configuration for golang.org/x/crypto/ssh
// that logs in as f.User with f.ClientSigner and checks host keys against
// f.KnownHostsPath.
func (f *Fleet) ClientConfig(t testing.TB) *ssh.ClientConfig {
	t.Helper()
	hostKeys, err := knownhosts.New(f.KnownHostsPath)
	if err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	return &ssh.ClientConfig{
		User:            f.User,
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(f.ClientSigner)},
		HostKeyCallback: hostKeys,
		Timeout:         10 * time.Second,
	}
}

// requireSSHD skips or fails the test when sshd is not installed.
func requireSSHD(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, SSHDPath, "openssh-server")
}

var validName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$`)

// newOptions applies opts and checks the result for n hosts.
func newOptions(n int, opts []Option) (*options, error) {
	if n < 1 {
		return nil, fmt.Errorf("need at least one host, got %d", n)
	}
	o := &options{maxSessions: 100, freePort: testenv.FreePort}
	for _, opt := range opts {
		opt(o)
	}
	if o.names == nil {
		for i := 1; i <= n; i++ {
			o.names = append(o.names, fmt.Sprintf("web%d", i))
		}
	}
	if len(o.names) != n {
		return nil, fmt.Errorf("WithNames gave %d names for %d hosts", len(o.names), n)
	}
	seen := make(map[string]bool)
	for _, name := range o.names {
		if !validName.MatchString(name) {
			return nil, fmt.Errorf("invalid host name %q", name)
		}
		if seen[name] {
			return nil, fmt.Errorf("duplicate host name %q", name)
		}
		seen[name] = true
	}
	o.envs = make(map[string]map[string]string)
	for _, name := range o.names {
		o.envs[name] = mergeEnv(o, name)
		if err := checkEnv(o.envs[name]); err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
	}
	if o.maxSessions < 1 {
		return nil, fmt.Errorf("MaxSessions must be positive, got %d", o.maxSessions)
	}
	for _, line := range o.extra {
		if strings.ContainsAny(line, "\n\r") {
			return nil, fmt.Errorf("WithConfig line %q contains a newline", line)
		}
	}
	return o, nil
}

// newFleet creates the fleet's keys and files in dir and its hosts, not yet
// started.
func newFleet(t testing.TB, dir string, n int, o *options) (*Fleet, error) {
	u, err := resolveUser(t, o)
	if err != nil {
		return nil, err
	}
	f := &Fleet{
		Dir:              dir,
		User:             u.name,
		LoginHome:        u.home,
		ClientKeyPath:    filepath.Join(dir, "id_ed25519"),
		EncryptedKeyPath: filepath.Join(dir, "id_ed25519_encrypted"),
		Passphrase:       passphrase,
		KnownHostsPath:   filepath.Join(dir, "known_hosts"),
		SSHConfigPath:    filepath.Join(dir, "ssh_config"),
		Isolated:         os.Geteuid() == 0 && !o.noIsolation,
	}
	if f.Isolated {
		if err := checkIsolation(dir, u.home); err != nil {
			return nil, err
		}
	}
	authorized, err := f.writeClientKeys()
	if err != nil {
		return nil, err
	}
	authPath, err := authorizedKeysFor(t, u, dir, authorized)
	if err != nil {
		return nil, err
	}
	base, err := randomBlock()
	if err != nil {
		return nil, err
	}
	for i, name := range o.names {
		h, err := newHost(hostSpec{
			name:     name,
			dir:      filepath.Join(dir, name),
			addr:     hostAddr(base, i),
			login:    u,
			isolated: f.Isolated,
			config:   sshdConfigLines(o, name, authPath),
			freePort: o.freePort,
		})
		if err != nil {
			return nil, fmt.Errorf("host %s: %w", name, err)
		}
		f.Hosts = append(f.Hosts, h)
	}
	return f, nil
}

// checkIsolation verifies what namespaced hosts need: sshd's privilege
// separation directory, and a fleet directory that the bind mount over the
// login home does not hide.
func checkIsolation(dir, home string) error {
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
		return fmt.Errorf("sshd privilege separation directory: %w", err)
	}
	if fi, err := os.Stat(home); err != nil || !fi.IsDir() {
		return fmt.Errorf("login home %q is not a directory (%v)", home, err)
	}
	realDir, err1 := filepath.EvalSymlinks(dir)
	realHome, err2 := filepath.EvalSymlinks(home)
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	if rel, err := filepath.Rel(realHome, realDir); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return fmt.Errorf("fleet directory %s is inside the login home %s, which each host hides: set TMPDIR elsewhere", dir, home)
	}
	return nil
}

// writeClientKeys creates the two client keys, writes the unencrypted one
// and both .pub files, sets f.ClientSigner, and returns the authorized_keys
// content for both keys. The encrypted key is kept for bootAll to write.
func (f *Fleet) writeClientKeys() ([]byte, error) {
	var authorized []byte
	for _, path := range []string{f.ClientKeyPath, f.EncryptedKeyPath} {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		sshPub, err := ssh.NewPublicKey(pub)
		if err != nil {
			return nil, err
		}
		line := ssh.MarshalAuthorizedKey(sshPub)
		if err := os.WriteFile(path+".pub", line, 0o644); err != nil {
			return nil, err
		}
		authorized = append(authorized, line...)
		if path == f.EncryptedKeyPath {
			f.encryptedKey = priv
			continue
		}
		if err := writePrivateKey(path, priv, ""); err != nil {
			return nil, err
		}
		if f.ClientSigner, err = ssh.NewSignerFromKey(priv); err != nil {
			return nil, err
		}
	}
	return authorized, nil
}

// writePrivateKey writes key in OpenSSH format with mode 0600 (OpenSSH
// ignores keys that others can read), encrypted when passphrase is set.
func writePrivateKey(path string, key ed25519.PrivateKey, passphrase string) error {
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "sshtest")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "sshtest", []byte(passphrase))
	}
	if err != nil {
		return fmt.Errorf("encoding %s: %w", path, err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(block), 0o600)
}

// bootAll starts every host concurrently and meanwhile writes the encrypted
// client key, whose key derivation (bcrypt) takes about 0.1 s.
func (f *Fleet) bootAll() error {
	errs := make([]error, len(f.Hosts)+1)
	var wg sync.WaitGroup
	for i, h := range f.Hosts {
		wg.Go(func() { errs[i] = h.boot() })
	}
	wg.Go(func() {
		errs[len(f.Hosts)] = writePrivateKey(f.EncryptedKeyPath, f.encryptedKey, f.Passphrase)
	})
	wg.Wait()
	return errors.Join(errs...)
}

// writeClientFiles writes known_hosts and ssh_config once every host has its
// port.
func (f *Fleet) writeClientFiles() error {
	var known, config strings.Builder
	for _, h := range f.Hosts {
		known.WriteString(knownhosts.Line([]string{h.Address()}, h.HostKey) + "\n")
		fmt.Fprintf(&config, "Host %s\n  HostName %s\n  Port %d\n", h.Name, h.Addr, h.Port)
	}
	fmt.Fprintf(&config, "\nHost *\n  User %s\n  IdentityFile %s\n  IdentitiesOnly yes\n"+
		"  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n",
		f.User, quoteArg(f.ClientKeyPath), quoteArg(f.KnownHostsPath))
	if err := os.WriteFile(f.KnownHostsPath, []byte(known.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(f.SSHConfigPath, []byte(config.String()), 0o644)
}

// shutdown kills every host and waits for all their processes.
func (f *Fleet) shutdown() {
	for _, p := range f.proxies {
		p.close()
	}
	var wg sync.WaitGroup
	for _, h := range f.Hosts {
		wg.Go(h.Kill)
	}
	wg.Wait()
}

// randomBlock returns a random 127.a.b.0 base address with a in [1, 200], so
// that even a large fleet stays inside 127.0.0.0/8 and away from 127.0.0.1.
func randomBlock() (uint32, error) {
	var b [2]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return 127<<24 | uint32(1+int(b[0])%200)<<16 | uint32(b[1])<<8, nil
}

// hostAddr returns the i-th host address of the block at base: .1 to .254,
// then on to the next /24.
func hostAddr(base uint32, i int) string {
	a := base + uint32(i/254)<<8 + uint32(1+i%254)
	return net.IPv4(byte(a>>24), byte(a>>16), byte(a>>8), byte(a)).String()
}
