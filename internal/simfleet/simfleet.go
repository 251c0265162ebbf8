// Package simfleet simulates a large fleet for opsui's scale benchmarks:
// N SSH servers in one process on x/crypto/ssh's server side, one listener
// per host on its own loopback address (127.x.y.z, one shared port), each
// with its own host key, that answer opsui's own commands (the status
// probe, `uname -n`, `true`, the deploy lock scripts, log follows) from
// canned per-host output without forking a shell, so a benchmark measures
// opsui and not the hosts. Hosts can be slowed (latency), refuse
// connections, or hang like a SIGSTOPped sshd (accept, then silence).
//
// It is test and benchmark code: 2 000 real sshd processes do not fit on a
// small machine, and opsui's correctness is tested against real OpenSSH
// (internal/sshtest). Spawn runs the fleet in a child process so that the
// client's CPU, memory and file descriptors are measured apart from it.
package simfleet

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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The scale benchmarks' fleet sizes: EnvSizes (comma-separated, read with
// testenv.EnvSizes) or DefaultSizes.
const EnvSizes = "OPSUI_SCALE_SIZES"

// DefaultSizes are issue 20's fleet sizes.
var DefaultSizes = []int{500, 1000, 2000}

// Fault is how a simulated host misbehaves.
type Fault int

// Faults.
const (
	// Healthy answers every command.
	Healthy Fault = iota
	// Refuse has nothing listening: connections are refused at once.
	Refuse
	// Hang accepts connections, then neither reads nor writes, like an
	// sshd stopped with SIGSTOP: new connections never get a banner and
	// warm ones stop answering.
	Hang
)

// String names the fault as ParseFault reads it.
func (f Fault) String() string {
	switch f {
	case Refuse:
		return "refuse"
	case Hang:
		return "hang"
	}
	return "healthy"
}

// ParseFault reads a fault's name.
func ParseFault(s string) (Fault, error) {
	for _, f := range []Fault{Healthy, Refuse, Hang} {
		if f.String() == s {
			return f, nil
		}
	}
	return Healthy, fmt.Errorf("simfleet: unknown fault %q (healthy, refuse, hang)", s)
}

// Config describes a simulated fleet.
type Config struct {
	N int // hosts
	// Dir receives the client key (id_ed25519) and known_hosts; it must
	// exist.
	Dir string
	// Latency delays every command's answer (not the handshake), as a
	// remote command's own run time would.
	Latency time.Duration
	// Faults sets hosts' faults by index from the start.
	Faults map[int]Fault
	// LogInterval is how often a log follow writes a line (default 1s).
	LogInterval time.Duration
}

// Host is one simulated host.
type Host struct {
	Name string
	Addr string // the IP address
	Port int

	index  int
	key    ssh.PublicKey // its host key
	cfg    *ssh.ServerConfig
	fleet  *Fleet
	fault  atomic.Int32
	wakeMu sync.Mutex
	wake   chan struct{} // closed when a hang ends; nil when not hung
	ln     net.Listener

	locks lockTable

	Conns    atomic.Int64 // connections whose handshake completed
	Commands atomic.Int64 // exec requests answered
}

// Address is host:port for a dialer.
func (h *Host) Address() string { return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)) }

// Fleet is a running simulated fleet.
type Fleet struct {
	Hosts          []*Host
	User           string // any user name logs in; this is the one to use
	ClientKeyPath  string
	KnownHostsPath string

	cfg    Config
	client ssh.PublicKey
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Start starts cfg's fleet in this process; Close stops it.
func Start(ctx context.Context, cfg Config) (*Fleet, error) {
	if cfg.N <= 0 || cfg.N > 250*250 {
		return nil, fmt.Errorf("simfleet: %d hosts: want 1 to %d", cfg.N, 250*250)
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = time.Second
	}
	f := &Fleet{User: "sim", cfg: cfg, conns: map[net.Conn]struct{}{}}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	if err := f.writeClientKey(); err != nil {
		return nil, err
	}
	for i := range cfg.N {
		h, err := f.newHost(i)
		if err != nil {
			return nil, err
		}
		h.fault.Store(int32(cfg.Faults[i]))
		if cfg.Faults[i] == Hang {
			h.wake = make(chan struct{})
		}
		f.Hosts = append(f.Hosts, h)
	}
	if err := f.listenAll(ctx); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.writeKnownHosts(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// writeClientKey makes the one key every host accepts.
func (f *Fleet) writeClientKey() error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("simfleet: client key: %w", err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "simfleet client")
	if err != nil {
		return fmt.Errorf("simfleet: client key: %w", err)
	}
	f.ClientKeyPath = filepath.Join(f.cfg.Dir, "id_ed25519")
	if err := os.WriteFile(f.ClientKeyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		return fmt.Errorf("simfleet: client key: %w", err)
	}
	f.client, err = ssh.NewPublicKey(pub)
	return err
}

// newHost gives host i its name, address and own host key.
func (f *Fleet) newHost(i int) (*Host, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("simfleet: host key: %w", err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, fmt.Errorf("simfleet: host key: %w", err)
	}
	h := &Host{Name: fmt.Sprintf("sim%04d", i+1), index: i, fleet: f, key: signer.PublicKey()}
	want := string(f.client.Marshal())
	h.cfg = &ssh.ServerConfig{
		ServerVersion: "SSH-2.0-opsui-simfleet",
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if string(key.Marshal()) == want {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("unknown public key")
		},
	}
	h.cfg.AddHostKey(signer)
	return h, nil
}

// listenAll binds every healthy or hung host on one port of its own
// 127.B.x.y address. B and the port are picked at random; a clash with
// another listener (another fleet, a test's sshd) retries elsewhere.
func (f *Fleet) listenAll(ctx context.Context) error {
	var lc net.ListenConfig
	var last error
	for range 8 {
		var buf [1]byte
		_, _ = rand.Read(buf[:])
		base := 100 + int(buf[0])%100
		for _, h := range f.Hosts {
			h.Addr = fmt.Sprintf("127.%d.%d.%d", base, h.index/250, h.index%250+1)
		}
		port := 0
		ok := true
		for _, h := range f.Hosts {
			ln, err := lc.Listen(ctx, "tcp", net.JoinHostPort(h.Addr, strconv.Itoa(port)))
			if err != nil {
				last = err
				ok = false
				break
			}
			h.ln = ln
			port = ln.Addr().(*net.TCPAddr).Port
		}
		if ok {
			for _, h := range f.Hosts {
				h.Port = port
				if Fault(h.fault.Load()) == Refuse {
					h.ln.Close()
					h.ln = nil
					continue
				}
				f.serve(h, h.ln)
			}
			return nil
		}
		for _, h := range f.Hosts {
			if h.ln != nil {
				h.ln.Close()
				h.ln = nil
			}
		}
	}
	return fmt.Errorf("simfleet: listen: %w", last)
}

// writeKnownHosts lists every host's key under its address.
func (f *Fleet) writeKnownHosts() error {
	var b []byte
	for _, h := range f.Hosts {
		b = append(b, knownhosts.Line([]string{knownhosts.Normalize(h.Address())}, h.key)...)
		b = append(b, '\n')
	}
	f.KnownHostsPath = filepath.Join(f.cfg.Dir, "known_hosts")
	if err := os.WriteFile(f.KnownHostsPath, b, 0o600); err != nil {
		return fmt.Errorf("simfleet: known_hosts: %w", err)
	}
	return nil
}

// SetFault changes host i's fault. Hang stops its connections where they
// are; Healthy resumes them; Refuse closes its listener (connections
// already up stay).
func (f *Fleet) SetFault(i int, fault Fault) error {
	if i < 0 || i >= len(f.Hosts) {
		return fmt.Errorf("simfleet: no host %d", i)
	}
	h := f.Hosts[i]
	h.wakeMu.Lock()
	defer h.wakeMu.Unlock()
	old := Fault(h.fault.Swap(int32(fault)))
	switch {
	case fault == Hang && h.wake == nil:
		h.wake = make(chan struct{})
	case fault != Hang && h.wake != nil:
		close(h.wake)
		h.wake = nil
	}
	if fault == Refuse && h.ln != nil {
		h.ln.Close()
		h.ln = nil
	}
	if old == Refuse && fault != Refuse {
		var lc net.ListenConfig
		ln, err := lc.Listen(f.ctx, "tcp", h.Address())
		if err != nil {
			return fmt.Errorf("simfleet: %s: listen again: %w", h.Name, err)
		}
		h.ln = ln
		f.serve(h, ln)
	}
	return nil
}

// awake waits while h hangs; false when the fleet closed meanwhile.
func (h *Host) awake() bool {
	h.wakeMu.Lock()
	w := h.wake
	h.wakeMu.Unlock()
	if w == nil {
		return true
	}
	select {
	case <-w:
		return true
	case <-h.fleet.ctx.Done():
		return false
	}
}

// Close stops every host and waits for the fleet's goroutines.
func (f *Fleet) Close() {
	f.cancel()
	for _, h := range f.Hosts {
		h.wakeMu.Lock()
		if h.ln != nil {
			h.ln.Close()
			h.ln = nil
		}
		h.wakeMu.Unlock()
	}
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// serve accepts h's connections on ln until it is closed.
func (f *Fleet) serve(h *Host, ln net.Listener) {
	f.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			if f.ctx.Err() != nil {
				f.mu.Unlock()
				c.Close()
				return
			}
			f.conns[c] = struct{}{}
			f.mu.Unlock()
			f.wg.Go(func() {
				defer func() {
					f.mu.Lock()
					delete(f.conns, c)
					f.mu.Unlock()
					c.Close()
				}()
				h.handleConn(&gatedConn{Conn: c, h: h})
			})
		}
	})
}

// gatedConn holds every read and write while its host hangs: bytes the
// client sent stay unread, nothing is answered.
type gatedConn struct {
	net.Conn
	h *Host
}

func (c *gatedConn) Read(b []byte) (int, error) {
	if !c.h.awake() {
		return 0, net.ErrClosed
	}
	n, err := c.Conn.Read(b)
	if n > 0 && !c.h.awake() {
		return 0, net.ErrClosed
	}
	return n, err
}

func (c *gatedConn) Write(b []byte) (int, error) {
	if !c.h.awake() {
		return 0, net.ErrClosed
	}
	return c.Conn.Write(b)
}

// handleConn runs the SSH server side of one connection.
func (h *Host) handleConn(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(time.Minute)) // the handshake; a hung host is stopped by Close
	sc, chans, reqs, err := ssh.NewServerConn(c, h.cfg)
	if err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	defer sc.Close()
	h.Conns.Add(1)
	go func() {
		for r := range reqs { // keepalive@openssh.com and the like: alive
			if r.WantReply {
				_ = r.Reply(r.Type == "keepalive@openssh.com", nil)
			}
		}
	}()
	var sessions sync.WaitGroup
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "the simulated host only runs commands")
			continue
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			continue
		}
		sessions.Go(func() { h.session(ch, creqs) })
	}
	sessions.Wait()
}
