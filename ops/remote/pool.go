package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// ErrPoolClosed is returned by a Pool after Close.
var ErrPoolClosed = errors.New("connection pool closed")

// Pool keeps one SSH connection per host, keyed by Target.Name, and hands
// it to every operation on that host. It implements Connector.
//
// A connection is dialed on first use; concurrent callers for the same host
// share that one dial. A caller whose context ends stops waiting; the dial
// goes on for the others and is cancelled only when nobody waits any more.
// A connection that died (its keepalive went unanswered, or the host closed
// it) is dropped and dialed again on next use. A connection is idle while no
// session or channel is open on it and no Lease holds it; it is closed after
// Options.IdleTimeout of idleness. Jump hosts are pooled too: hosts behind
// the same bastion share one connection to it.
type Pool struct {
	opts   Options
	dialer *dialer
	ctx    context.Context // cancelled by Close: ends every dial and prompt
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of the pool

	mu      sync.Mutex
	closed  bool
	conns   map[string]*conn // by key: the current connection, dialing or up
	clients map[*ssh.Client]*conn
	dials   map[string]int
	setup   error // NewPool's error, returned by every call
}

// conn is one pooled connection. Pool.mu guards its fields, except the
// agent forwarding state, which agent guards.
type conn struct {
	key    string
	target Target

	ready   chan struct{} // closed when the dial ended
	cancel  context.CancelFunc
	waiters int
	err     error // the dial's error

	client   *ssh.Client
	wire     *activityConn // its transport, for keepalives
	done     chan struct{} // closed when the connection is gone
	busy     int           // open channels and leases
	lastUsed time.Time
	dropped  bool // gone: closed, or failed to dial
	retired  bool // forgotten: never handed out again, closed once idle
	idle     *time.Timer

	agent          sync.Mutex // guards the agent forwarding state
	agentHandler   bool       // the client answers the host's agent channels
	agentRequested bool       // sshd was asked to forward the agent
}

// PoolStats is a snapshot of a pool, for tests and the status panel.
type PoolStats struct {
	Dials map[string]int // dials started per key since NewPool
	Open  map[string]int // connections up, by key: their open channels and leases
}

// NewPool returns a pool that connects with opts.
func NewPool(opts Options) *Pool {
	opts = opts.withDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		opts:    opts,
		ctx:     ctx,
		cancel:  cancel,
		conns:   make(map[string]*conn),
		clients: make(map[*ssh.Client]*conn),
		dials:   make(map[string]int),
	}
	hosts, err := newKnownHosts(opts.KnownHostsFiles, opts.KnownHostsPath, opts.HashKnownHosts, opts.AcceptHostKey)
	if err != nil {
		p.setup = fmt.Errorf("connection pool: %w", err)
	}
	p.dialer = &dialer{opts: opts, hosts: hosts, keys: newKeyring(opts.Passphrase)}
	return p
}

// Client returns the live connection to t, dialing it when there is none.
// Open a session on it soon: only open sessions, channels and leases keep a
// connection from being closed as idle. Prefer Session or Acquire.
func (p *Pool) Client(ctx context.Context, t Target) (*ssh.Client, error) {
	c, err := p.get(ctx, t.Name, t, false)
	if err != nil {
		return nil, err
	}
	return c.client, nil
}

// Lease holds a pooled connection in use: it is not closed as idle until
// Release.
type Lease struct {
	Client *ssh.Client
	p      *Pool
	c      *conn
	once   sync.Once
}

// Release ends the lease. It may be called more than once.
func (l *Lease) Release() { l.once.Do(func() { l.p.unhold(l.c) }) }

// Acquire returns the connection to t, dialing it when needed, held in use
// until the lease is released.
func (p *Pool) Acquire(ctx context.Context, t Target) (*Lease, error) {
	c, err := p.get(ctx, t.Name, t, true)
	if err != nil {
		return nil, err
	}
	return &Lease{Client: c.client, p: p, c: c}, nil
}

// Forget drops the connection of the host named name, so that the next call
// dials again. A connection in use is closed when its last session ends; a
// dial under way completes for those waiting on it. (A call with a Target
// that differs from the pooled connection's, other than by name, retires it
// the same way by itself.)
func (p *Pool) Forget(name string) {
	p.mu.Lock()
	c := p.conns[name]
	closeNow := c != nil && p.retire(c)
	p.mu.Unlock()
	if closeNow {
		c.client.Close()
	}
}

// retire takes c out of the pool and reports whether to close it now (it is
// up and unused); otherwise its last user closes it. p.mu is held.
func (p *Pool) retire(c *conn) (closeNow bool) {
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	c.retired = true
	return c.client != nil && c.busy == 0 && !c.dropped
}

// sameTarget reports whether a and b reach a host the same way (their names
// aside).
func sameTarget(a, b Target) bool {
	if a.Addr != b.Addr || a.User != b.User || a.ForwardAgent != b.ForwardAgent ||
		!slices.Equal(a.IdentityFiles, b.IdentityFiles) || len(a.Jumps) != len(b.Jumps) {
		return false
	}
	for i := range a.Jumps {
		if !sameTarget(a.Jumps[i], b.Jumps[i]) {
			return false
		}
	}
	return true
}

// Stats returns the dial counts and open connections.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := PoolStats{Dials: maps.Clone(p.dials), Open: make(map[string]int)}
	for _, c := range p.clients {
		if !c.dropped {
			s.Open[c.key] = c.busy
		}
	}
	return s
}

// Close closes every connection, cancels dials under way and waits for the
// pool's goroutines; later calls fail with ErrPoolClosed.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	clients := make([]*ssh.Client, 0, len(p.clients))
	for cl := range p.clients {
		clients = append(clients, cl)
	}
	p.conns = make(map[string]*conn)
	p.mu.Unlock()
	p.cancel()
	for _, cl := range clients {
		cl.Close()
	}
	p.wg.Wait()
	return nil
}

// get returns the connection under key, dialing it when there is none, and
// holds it in use when hold is set.
func (p *Pool) get(ctx context.Context, key string, t Target, hold bool) (*conn, error) {
	for attempt := 0; ; attempt++ {
		p.mu.Lock()
		if p.closed || p.setup != nil {
			err := p.setup
			if p.closed {
				err = ErrPoolClosed
			}
			p.mu.Unlock()
			return nil, Classify(t.Name, err)
		}
		c := p.conns[key]
		if c != nil && !sameTarget(c.target, t) {
			// The host's entry changed: new work goes to a new connection.
			if p.retire(c) {
				c.client.Close() // safe under p.mu: nothing it calls takes it
			}
			c = nil
		}
		if c == nil {
			c = p.startDial(key, t)
		}
		if c.client != nil { // up: a failed or dead one is never in conns
			p.use(c, hold)
			p.mu.Unlock()
			return c, nil
		}
		c.waiters++
		p.mu.Unlock()

		select {
		case <-c.ready:
		case <-ctx.Done():
			p.mu.Lock()
			c.waiters--
			if c.waiters == 0 && c.client == nil && c.err == nil {
				// Nobody waits for this dial any more.
				c.cancel()
				if p.conns[key] == c {
					delete(p.conns, key)
				}
			}
			p.mu.Unlock()
			return nil, Classify(t.Name, fmt.Errorf("connect to %s: %w", t.Addr, ctx.Err()))
		}
		p.mu.Lock()
		c.waiters--
		if c.err != nil {
			p.mu.Unlock()
			return nil, c.err
		}
		if c.dropped { // died as soon as it came up
			p.mu.Unlock()
			if attempt == 0 {
				continue
			}
			return nil, &HostError{Host: t.Name, Class: ClassConnLost, Err: fmt.Errorf("connection to %s closed right after login", t.Addr)}
		}
		p.use(c, hold)
		p.mu.Unlock()
		return c, nil
	}
}

// use marks c used now, and held when hold is set. p.mu is held.
func (p *Pool) use(c *conn, hold bool) {
	c.lastUsed = time.Now()
	if hold {
		c.busy++
	}
}

// hold and unhold count a session, channel or lease on c.
func (p *Pool) hold(c *conn) {
	p.mu.Lock()
	c.busy++
	p.mu.Unlock()
}

func (p *Pool) unhold(c *conn) {
	p.mu.Lock()
	c.busy--
	c.lastUsed = time.Now()
	closeNow := c.busy == 0 && c.retired && c.client != nil && !c.dropped
	if c.busy == 0 && c.idle != nil {
		c.idle.Reset(p.opts.IdleTimeout)
	}
	p.mu.Unlock()
	if closeNow {
		c.client.Close()
	}
}

// discard closes c, found dead by a caller, so the next get dials again.
func (p *Pool) discard(c *conn) {
	p.mu.Lock()
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	c.retired = true
	p.mu.Unlock()
	if c.client != nil {
		c.client.Close()
	}
}

// jumpKey is the pool key of the connection to the last of hops, reached
// through the others.
func jumpKey(hops []Target) string {
	parts := make([]string, len(hops))
	for i, h := range hops {
		parts[i] = h.User + "@" + h.Addr
	}
	return "jump:" + strings.Join(parts, ">")
}

// watch drops c once its connection has ended, however it ended.
func (p *Pool) watch(c *conn) {
	defer p.wg.Done()
	_ = c.client.Wait()
	p.mu.Lock()
	defer p.mu.Unlock()
	c.dropped = true
	if p.conns[c.key] == c {
		delete(p.conns, c.key)
	}
	delete(p.clients, c.client)
	if c.idle != nil {
		c.idle.Stop()
	}
	close(c.done)
}

// keepalive checks c every KeepAlive: when nothing came from the host
// during the last interval it sends keepalive@openssh.com, and closes the
// connection when no reply and no other byte arrives within
// KeepAliveTimeout. A host that hung or vanished without a reset is found
// within about two intervals; a slow but busy one is not cut.
func (p *Pool) keepalive(c *conn) {
	defer p.wg.Done()
	tick := time.NewTicker(p.opts.KeepAlive)
	defer tick.Stop()
	checked := time.Now()
	for {
		select {
		case <-c.done:
			return
		case <-tick.C:
		}
		if c.wire.readSince(checked) {
			checked = time.Now()
			continue // traffic since the last check shows it alive
		}
		if !p.ping(c) {
			c.client.Close() // watch drops it
			return
		}
		checked = time.Now()
	}
}

// ping sends one keepalive request and reports whether the host is alive:
// it replied, or at least sent something, in time.
func (p *Pool) ping(c *conn) bool {
	reply := make(chan error, 1)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		_, _, err := c.client.SendRequest("keepalive@openssh.com", true, nil)
		reply <- err
	}()
	timer := time.NewTimer(p.opts.KeepAliveTimeout)
	defer timer.Stop()
	for {
		sent := time.Now()
		select {
		case err := <-reply:
			return err == nil
		case <-c.done:
			return true // gone anyway; watch has it
		case <-timer.C:
			if !c.wire.readSince(sent) {
				return false
			}
			timer.Reset(p.opts.KeepAliveTimeout) // the reply is queued behind data
		}
	}
}

// idleCheck closes c when it has been idle for IdleTimeout, or checks again
// when it will have been. A busy connection is checked again when its last
// session ends (unhold resets the timer).
func (p *Pool) idleCheck(c *conn) {
	p.mu.Lock()
	if c.dropped || c.busy > 0 {
		p.mu.Unlock()
		return
	}
	if left := p.opts.IdleTimeout - time.Since(c.lastUsed); left > 0 {
		c.idle.Reset(left)
		p.mu.Unlock()
		return
	}
	if p.conns[c.key] == c {
		delete(p.conns, c.key) // no caller gets it while it closes
	}
	p.mu.Unlock()
	c.client.Close()
}

// trackedConn counts the channels open on a pooled connection: sessions,
// and channels to the next hop when it is a jump host. A channel counts
// until it is closed on both sides (its request channel is closed), or the
// connection ends.
type trackedConn struct {
	ssh.Conn
	p *Pool
	c *conn
}

func (t *trackedConn) OpenChannel(name string, data []byte) (ssh.Channel, <-chan *ssh.Request, error) {
	t.p.hold(t.c)
	ch, reqs, err := t.Conn.OpenChannel(name, data)
	if err != nil {
		t.p.unhold(t.c)
		var rejected *ssh.OpenChannelError
		if !errors.As(err, &rejected) {
			// The connection is gone (the host refusing a channel says
			// so with an OpenChannelError): drop it now, so that a retry
			// dials again even before watch notices.
			t.p.discard(t.c)
		}
		return nil, nil, err
	}
	out := make(chan *ssh.Request, 16)
	go func() {
		for r := range reqs {
			out <- r
		}
		close(out)
		t.p.unhold(t.c)
	}()
	return ch, out, nil
}
