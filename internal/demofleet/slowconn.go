package demofleet

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// slowConn is a connection whose writes reach the wire latency after they
// are made, in order and pipelined, as over a long link: each round trip
// of the SSH protocol costs the latency once, not once per packet.
type slowConn struct {
	net.Conn
	latency *atomic.Int64 // ns, read at each write

	queue   chan delayedWrite
	closing chan struct{}
	drained chan struct{}
	once    sync.Once
	failed  atomic.Pointer[error]
}

type delayedWrite struct {
	at time.Time
	b  []byte
}

func newSlowConn(c net.Conn, latency *atomic.Int64) *slowConn {
	s := &slowConn{Conn: c, latency: latency, queue: make(chan delayedWrite, 256),
		closing: make(chan struct{}), drained: make(chan struct{})}
	go s.flush()
	return s
}

func (c *slowConn) Write(p []byte) (int, error) {
	if err := c.failed.Load(); err != nil {
		return 0, *err
	}
	w := delayedWrite{at: time.Now().Add(time.Duration(c.latency.Load())), b: append([]byte(nil), p...)}
	select {
	case c.queue <- w:
		return len(p), nil
	case <-c.closing:
		return 0, net.ErrClosed
	}
}

// flush writes the queued writes when they are due, until Close has been
// called and the queue is empty.
func (c *slowConn) flush() {
	defer close(c.drained)
	for {
		var w delayedWrite
		select {
		case w = <-c.queue:
		case <-c.closing:
			select {
			case w = <-c.queue:
			default:
				return
			}
		}
		time.Sleep(time.Until(w.at))
		if c.failed.Load() != nil {
			continue // drop the rest: the connection is broken
		}
		if _, err := c.Conn.Write(w.b); err != nil {
			c.failed.Store(&err)
		}
	}
}

// Close sends what is queued (waiting at most the latency and a second),
// then closes the connection.
func (c *slowConn) Close() error {
	c.once.Do(func() { close(c.closing) })
	select {
	case <-c.drained:
	case <-time.After(time.Duration(c.latency.Load()) + time.Second):
	}
	return c.Conn.Close()
}
