package remote

import (
	"context"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// connectSlotHold is how long a host waiting for its connection keeps its
// Run slot. A cold login to a live host takes tens of milliseconds on a
// LAN and a few hundred over a slow link; past a second the host is
// waiting, not working (a hung sshd accepts and then says nothing until
// the handshake timeout), and its slot goes to the next host. Measured:
// BenchmarkColdExecFaults, 5 % of 2 000 hosts hung from the start.
const connectSlotHold = time.Second

// slot is a host's place among the Parallel hosts at work in Run. It is
// lent while the host's connection takes longer than connectSlotHold, and
// taken back before its command starts: Parallel bounds the commands
// running, and the logins under way that have not yet waited long.
type slot struct {
	ch         chan struct{} // Run's slots: a send takes one
	mu         sync.Mutex
	held       bool
	connecting bool // lend gives the slot up only while connecting
}

// newSlots is Run's slots, n at once.
func newSlots(n int) chan struct{} { return make(chan struct{}, n) }

// acquire waits for a slot of ch, as Run does before starting a host.
func acquire(ch chan struct{}) *slot {
	ch <- struct{}{}
	return &slot{ch: ch, held: true}
}

// lend gives the slot up if the host is still connecting.
func (s *slot) lend() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connecting && s.held {
		s.held = false
		<-s.ch
	}
}

// release gives the slot up for good: the host's part is over.
func (s *slot) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held {
		s.held = false
		<-s.ch
	}
}

// connect opens the host's session, lending the slot while that takes
// longer than connectSlotHold, and holds a slot again when it returns
// without error. A ctx that ends while waiting for the slot again closes
// the session and returns ctx's error.
func (s *slot) connect(ctx context.Context, open func() (*ssh.Session, error)) (*ssh.Session, error) {
	if s == nil {
		return open()
	}
	s.mu.Lock()
	s.connecting = true
	s.mu.Unlock()
	t := time.AfterFunc(connectSlotHold, s.lend)
	sess, err := open()
	t.Stop()
	s.mu.Lock()
	s.connecting = false // from here on lend does nothing, even one the timer started
	lent := !s.held
	s.mu.Unlock()
	if err != nil || !lent {
		return sess, err
	}
	select {
	case s.ch <- struct{}{}:
	case <-ctx.Done():
		sess.Close()
		return nil, ctx.Err()
	}
	s.mu.Lock()
	s.held = true
	s.mu.Unlock()
	return sess, nil
}
