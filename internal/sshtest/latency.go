package sshtest

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// WithLatency puts a TCP proxy in front of every host's sshd that delays
// each byte by rtt/2 in each direction: clients (the fleet's known_hosts,
// ssh config and Host.Port) reach the hosts over a network with this
// round trip, as a real fleet is, where loopback has none. Bandwidth is
// not limited. What a host does on itself (its own health check, its
// app's database) is not delayed. A host restarted by a test keeps its
// proxy in front of its old port: not for fault tests.
func WithLatency(rtt time.Duration) Option {
	return func(o *options) { o.latency = rtt }
}

// delayProxies starts one proxy per host, on a new port of the host's
// address, and points the host's Port at it; they stop with the fleet.
func (f *Fleet) delayProxies(rtt time.Duration) error {
	for _, h := range f.Hosts {
		l, err := net.Listen("tcp", net.JoinHostPort(h.Addr, "0"))
		if err != nil {
			return err
		}
		p := &delayProxy{l: l, to: net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), oneWay: rtt / 2}
		f.proxies = append(f.proxies, p)
		go p.serve()
		h.Port = l.Addr().(*net.TCPAddr).Port
	}
	return nil
}

// delayProxy forwards each connection it accepts to one address.
type delayProxy struct {
	l      net.Listener
	to     string
	oneWay time.Duration

	mu    sync.Mutex
	conns []net.Conn
}

func (p *delayProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *delayProxy) forward(c net.Conn) {
	s, err := net.Dial("tcp", p.to)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, s)
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { p.pipe(s, c) })
	wg.Go(func() { p.pipe(c, s) })
	wg.Wait()
	c.Close()
	s.Close()
}

// chunk is bytes read at one time, due at the other end oneWay later.
type chunk struct {
	b   []byte
	due time.Time
}

// pipe copies from src to dst, each read arriving oneWay after it was
// read, in order; the end of src ends dst's writing half.
func (p *delayProxy) pipe(dst, src net.Conn) {
	q := make(chan chunk, 4096)
	go func() {
		defer close(q)
		for {
			b := make([]byte, 32<<10)
			n, err := src.Read(b)
			if n > 0 {
				q <- chunk{b[:n], time.Now().Add(p.oneWay)}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range q {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.b); err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	for range q { // let the reader end
	}
}

// close stops accepting and ends every connection.
func (p *delayProxy) close() error {
	err := p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
