package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/ssh"
)

// clientVersion is the identification opsui sends to every host.
const clientVersion = "SSH-2.0-opsui"

// Defaults of Options.
const (
	DefaultDialTimeout = 10 * time.Second
	DefaultKeepAlive   = 15 * time.Second
	DefaultIdleTimeout = 5 * time.Minute
)

// Options configures a Pool: where keys and known hosts are, the prompts the
// UI answers, and the timeouts. The zero value is usable (no agent, no
// known_hosts: every host key is unknown); DefaultOptions fills it from the
// user's environment.
type Options struct {
	// SSHConfigPath is the OpenSSH client config LoadSSHConfig reads
	// (~/.ssh/config by default). The pool itself does not read it.
	SSHConfigPath string

	// KnownHostsFiles are read-only known_hosts files (the user's
	// ~/.ssh/known_hosts). Missing files are skipped.
	KnownHostsFiles []string
	// KnownHostsPath is opsui's own known_hosts file: read too, and where
	// accepted keys are appended (created 0600). Empty: nothing is recorded.
	KnownHostsPath string
	// HashKnownHosts writes host names hashed, as OpenSSH's HashKnownHosts.
	HashKnownHosts bool
	// AcceptHostKey decides on a key no known_hosts file lists. Nil refuses
	// every unknown key (class hostkey-unknown). A changed key is always
	// refused and never reaches it. Prompts come one at a time; the
	// handshake deadline is suspended while one waits.
	AcceptHostKey func(ctx context.Context, p HostKeyPrompt) (bool, error)

	// AgentSocket is the ssh-agent socket ($SSH_AUTH_SOCK); empty or dead
	// means no agent.
	AgentSocket string
	// Passphrase returns the passphrase of an encrypted identity file. It is
	// asked at most once per key for the life of the pool (up to three times
	// if the answer is wrong), only when a host accepts that key. Nil: an
	// encrypted key cannot be used.
	Passphrase func(ctx context.Context, keyPath string) ([]byte, error)

	// DialTimeout bounds the TCP connect, or the channel open through a
	// jump host (default 10s).
	DialTimeout time.Duration
	// HandshakeTimeout bounds the SSH handshake and authentication of one
	// hop, not counting time spent in prompts (default DialTimeout).
	HandshakeTimeout time.Duration
	// KeepAlive is the interval of keepalive@openssh.com requests (default
	// 15s; negative: none). A request not answered within KeepAliveTimeout
	// (default KeepAlive) closes the connection.
	KeepAlive        time.Duration
	KeepAliveTimeout time.Duration
	// IdleTimeout closes a connection unused for that long (default 5m;
	// negative: never). A connection with open sessions or leases is never
	// idle.
	IdleTimeout time.Duration

	// Dial opens TCP connections; nil uses net.Dialer. Tests and fault
	// injection (a proxy in front of a host) set it.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// DefaultOptions returns the options of the user's environment: ~/.ssh/config,
// ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts{,2} (read-only),
// $XDG_DATA_HOME/opsui/known_hosts (else ~/.local/share/opsui/known_hosts)
// and $SSH_AUTH_SOCK. ~ is $HOME, as for the identity files (HomeDir).
// Prompts are left nil for the caller to set.
func DefaultOptions() (Options, error) {
	home := HomeDir()
	if home == "" {
		return Options{}, errors.New("ssh options: no home directory: $HOME is not set and the user has none")
	}
	data := filepath.Join(home, ".local", "share")
	if dir := os.Getenv("XDG_DATA_HOME"); dir != "" && filepath.IsAbs(dir) {
		data = dir
	}
	return Options{
		SSHConfigPath:   filepath.Join(home, ".ssh", "config"),
		KnownHostsFiles: []string{filepath.Join(home, ".ssh", "known_hosts"), "/etc/ssh/ssh_known_hosts", "/etc/ssh/ssh_known_hosts2"},
		KnownHostsPath:  filepath.Join(data, "opsui", "known_hosts"),
		AgentSocket:     os.Getenv("SSH_AUTH_SOCK"),
	}, nil
}

// withDefaults fills unset durations and the dial function.
func (o Options) withDefaults() Options {
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = o.DialTimeout
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.KeepAliveTimeout <= 0 {
		o.KeepAliveTimeout = o.KeepAlive
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.Dial == nil {
		d := &net.Dialer{KeepAlive: 15 * time.Second}
		o.Dial = d.DialContext
	}
	return o
}

// Algorithm preferences. OpenSSH 9.2 prefers sntrup761x25519, which costs
// about 90 ms of CPU per connection; curve25519 is several times cheaper and
// every OpenSSH since 6.5 has it. AES-GCM is the fastest cipher on CPUs with
// AES instructions, ChaCha20-Poly1305 on those without.
var (
	keyExchanges = []string{
		ssh.KeyExchangeCurve25519,
		ssh.KeyExchangeMLKEM768X25519,
		ssh.KeyExchangeECDHP256, ssh.KeyExchangeECDHP384, ssh.KeyExchangeECDHP521,
		ssh.KeyExchangeDH14SHA256, ssh.KeyExchangeDH16SHA512,
	}
	ciphers = []string{
		ssh.CipherAES128GCM, ssh.CipherChaCha20Poly1305, ssh.CipherAES256GCM,
		ssh.CipherAES128CTR, ssh.CipherAES192CTR, ssh.CipherAES256CTR,
	}
)

// startDial adds a dialing connection under key and starts its dial. p.mu
// is held.
func (p *Pool) startDial(key string, t Target) *conn {
	ctx, cancel := context.WithCancel(p.ctx)
	c := &conn{key: key, target: t, ready: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	p.conns[key] = c
	p.dials[key]++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		defer cancel()
		client, wire, err := p.open(ctx, c)
		p.finishDial(c, client, wire, err)
	}()
	return c
}

// finishDial records the end of c's dial and starts watching c when it is
// up.
func (p *Pool) finishDial(c *conn, client *ssh.Client, wire *activityConn, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil && (p.closed || (c.waiters == 0 && p.conns[c.key] != c && !c.retired)) {
		// The pool closed, or everyone gave up waiting: nobody wants it.
		client.Close()
		err = Classify(c.target.Name, fmt.Errorf("connect to %s: %w", c.target.Addr, context.Canceled))
		if p.closed {
			err = Classify(c.target.Name, ErrPoolClosed)
		}
	}
	if err != nil {
		c.err = Classify(c.target.Name, err)
		c.dropped = true
		if p.conns[c.key] == c {
			delete(p.conns, c.key)
		}
		close(c.ready)
		close(c.done)
		return
	}
	c.client, c.wire = client, wire
	c.lastUsed = time.Now()
	p.clients[client] = c
	if p.opts.IdleTimeout > 0 {
		c.idle = time.AfterFunc(p.opts.IdleTimeout, func() { p.idleCheck(c) })
	}
	close(c.ready)
	p.wg.Add(1)
	go p.watch(c)
	if p.opts.KeepAlive > 0 {
		p.wg.Add(1)
		go p.keepalive(c)
	}
}

// open dials c's target: through its jump hosts, themselves pooled, when it
// has any.
func (p *Pool) open(ctx context.Context, c *conn) (*ssh.Client, *activityConn, error) {
	t := c.target
	var via *ssh.Client
	if n := len(t.Jumps); n > 0 {
		hop := t.Jumps[n-1]
		hop.Jumps = t.Jumps[:n-1]
		jc, err := p.get(ctx, jumpKey(t.Jumps), hop, true)
		if err != nil {
			he := Classify(hop.Name, err)
			return nil, nil, &HostError{Host: t.Name, Class: he.Class,
				Err: fmt.Errorf("via jump host %s (%s): %w", hop.Name, he.Class, he.Err)}
		}
		defer p.unhold(jc) // the channel through it holds it from now on
		via = jc.client
	}
	wire, err := p.dialer.connect(ctx, t, via)
	if err != nil {
		return nil, nil, err
	}
	sc, chans, reqs, err := p.dialer.handshake(ctx, wire, t)
	if err != nil {
		return nil, nil, err
	}
	return ssh.NewClient(&trackedConn{Conn: sc, p: p, c: c}, chans, reqs), wire, nil
}

// dialer connects to one hop: transport, handshake, host key, login.
type dialer struct {
	opts  Options
	hosts *knownHosts
	keys  *keyring
}

// connect opens the byte stream to t.Addr: a TCP connection, or a channel
// through via when t is reached through a jump host.
func (d *dialer) connect(ctx context.Context, t Target, via *ssh.Client) (*activityConn, error) {
	dctx, cancel := context.WithTimeout(ctx, d.opts.DialTimeout)
	defer cancel()
	var conn net.Conn
	var err error
	if via != nil {
		conn, err = via.DialContext(dctx, "tcp", t.Addr)
	} else {
		conn, err = d.opts.Dial(dctx, "tcp", t.Addr)
	}
	switch {
	case err == nil:
		return &activityConn{Conn: conn}, nil
	case ctx.Err() != nil:
		return nil, &HostError{Host: t.Name, Class: errorClass(ctx.Err(), ClassCancelled),
			Err: fmt.Errorf("dial %s: %w", t.Addr, ctx.Err())}
	case dctx.Err() != nil:
		return nil, &HostError{Host: t.Name, Class: ClassTimeout,
			Err: fmt.Errorf("dial %s: no connection within %v: %w", t.Addr, d.opts.DialTimeout, err)}
	}
	class := errorClass(err, ClassUnreachable)
	if class == ClassConnLost { // the jump host's connection broke
		class = ClassUnreachable
	}
	return nil, &HostError{Host: t.Name, Class: class, Err: fmt.Errorf("dial %s: %w", t.Addr, err)}
}

// handshake runs the SSH handshake and login on conn under the handshake
// deadline, closing conn when ctx is done. It closes conn on failure.
func (d *dialer) handshake(ctx context.Context, conn net.Conn, t Target) (ssh.Conn, <-chan ssh.NewChannel, <-chan *ssh.Request, error) {
	g := newHandshakeGuard(conn, d.opts.HandshakeTimeout)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	attempt, method := d.keys.auth(ctx, t, d.opts.AgentSocket, g.pause)
	cfg := &ssh.ClientConfig{
		Config:            ssh.Config{KeyExchanges: keyExchanges, Ciphers: ciphers},
		User:              t.User,
		Auth:              []ssh.AuthMethod{method},
		HostKeyCallback:   d.hosts.callback(ctx, t, g.pause),
		HostKeyAlgorithms: d.hosts.algorithms(t),
		ClientVersion:     clientVersion,
		BannerCallback:    func(string) error { return nil },
	}
	c, chans, reqs, err := ssh.NewClientConn(conn, t.Addr, cfg)
	attempt.done()
	expired := g.stop()
	if !stop() && err == nil { // ctx was done as the handshake ended
		c.Close()
		err = ctx.Err()
	}
	if err == nil {
		return c, chans, reqs, nil
	}
	conn.Close()
	switch {
	case ctx.Err() != nil:
		err = &HostError{Host: t.Name, Class: errorClass(ctx.Err(), ClassCancelled),
			Err: fmt.Errorf("ssh handshake with %s: %w", t.Addr, ctx.Err())}
	case expired:
		err = &HostError{Host: t.Name, Class: ClassTimeout,
			Err: fmt.Errorf("ssh handshake with %s: no answer within %v: %w", t.Addr, d.opts.HandshakeTimeout, os.ErrDeadlineExceeded)}
	default:
		err = attempt.error(t, err)
		class := errorClass(err, ClassUnreachable)
		if typed := typedHandshakeError(err); typed != nil {
			err = typed // its message says it all, without the ssh package's prefix
		} else if class == ClassConnLost {
			// Not established yet: the host (sshd's MaxStartups, a
			// firewall, a dying daemon) would not talk to us.
			class = ClassUnreachable
			err = fmt.Errorf("connection closed by %s during the ssh handshake: %w", t.Addr, err)
		} else {
			err = fmt.Errorf("ssh handshake with %s: %w", t.Addr, err)
		}
		err = &HostError{Host: t.Name, Class: class, Err: err}
	}
	return nil, nil, nil, err
}

// handshakeGuard bounds a handshake: a deadline on the connection (a TCP
// connection supports it, a channel through a jump host does not) and a timer
// that closes it either way. ssh.ClientConfig.Timeout only covers the TCP
// connect: without this, a host that accepts connections but never answers
// (a stopped sshd) hangs the handshake forever. Prompts pause it.
type handshakeGuard struct {
	conn      net.Conn
	timeout   time.Duration
	deadlines bool // conn supports deadlines

	mu       sync.Mutex
	timer    *time.Timer
	deadline time.Time // when the running period ends
	paused   int
	stopped  bool
	expired  bool
}

func newHandshakeGuard(conn net.Conn, timeout time.Duration) *handshakeGuard {
	g := &handshakeGuard{conn: conn, timeout: timeout}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.deadline = time.Now().Add(timeout)
	g.deadlines = conn.SetDeadline(g.deadline) == nil
	g.timer = time.AfterFunc(timeout, g.expire)
	return g
}

// expire closes the connection when the handshake ran out of time.
func (g *handshakeGuard) expire() {
	g.mu.Lock()
	if g.paused > 0 || g.stopped {
		g.mu.Unlock()
		return
	}
	g.expired = true
	g.mu.Unlock()
	g.conn.Close()
}

// pause suspends the deadline until the returned function is called; the
// handshake then gets its full timeout again.
func (g *handshakeGuard) pause() (resume func()) {
	g.mu.Lock()
	g.paused++
	if g.paused == 1 && !g.stopped {
		g.timer.Stop()
		if g.deadlines {
			_ = g.conn.SetDeadline(time.Time{})
		}
	}
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.paused--
			if g.paused > 0 || g.stopped || g.expired {
				return
			}
			g.deadline = time.Now().Add(g.timeout)
			if g.deadlines {
				_ = g.conn.SetDeadline(g.deadline)
			}
			g.timer.Reset(g.timeout)
		})
	}
}

// stop clears the deadline and reports whether the time ran out.
func (g *handshakeGuard) stop() (expired bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.stopped = true
	g.timer.Stop()
	if g.deadlines {
		_ = g.conn.SetDeadline(time.Time{})
	}
	return g.expired || (g.paused == 0 && !time.Now().Before(g.deadline))
}

// typedHandshakeError returns the host-key, login or passphrase error in
// err, or nil.
func typedHandshakeError(err error) error {
	var (
		hk   *HostKeyError
		auth *AuthError
		pass *PassphraseError
	)
	switch {
	case errors.As(err, &hk):
		return hk
	case errors.As(err, &auth):
		return auth
	case errors.As(err, &pass):
		return pass
	}
	return nil
}

// activityConn records when bytes last came from the host, so that a
// keepalive stuck behind a busy connection is not taken for a dead host.
type activityConn struct {
	net.Conn
	lastRead atomic.Int64 // UnixNano
}

func (c *activityConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.lastRead.Store(time.Now().UnixNano())
	}
	return n, err
}

// readSince reports whether bytes came from the host after t.
func (c *activityConn) readSince(t time.Time) bool {
	return c.lastRead.Load() > t.UnixNano()
}
