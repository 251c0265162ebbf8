package flows

import (
	"fmt"
	"sync"
	"time"
)

// StopTimeout bounds how long Run waits, after the program ended, for
// the flows it cancelled to stop their hosts and release their locks (an
// aborted deploy may roll its switched hosts back first).
const StopTimeout = 3 * time.Minute

// Tracker counts the flows' works that run, so that the console does
// not exit under a deploy that still holds its hosts' lock. After close,
// no work starts.
type Tracker struct {
	mu      sync.Mutex
	running int
	closed  bool
	idle    chan struct{} // closed when running drops to 0 after close
}

func NewTracker() *Tracker { return &Tracker{idle: make(chan struct{})} }

// Begin counts a work in; false once the console is closing.
func (t *Tracker) Begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.running++
	return true
}

// End counts a work out.
func (t *Tracker) End() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
	if t.closed && t.running == 0 {
		close(t.idle)
	}
}

// CloseAndWait stops new works and waits up to timeout for the running
// ones (whose context the caller cancelled) to return.
func (t *Tracker) CloseAndWait(timeout time.Duration) error {
	t.mu.Lock()
	if !t.closed {
		t.closed = true
		if t.running == 0 {
			close(t.idle)
		}
	}
	n := t.running
	t.mu.Unlock()
	select {
	case <-t.idle:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%d flow(s) still running %s after the console closed: a deploy lock may be left (opsui unlock)", n, timeout)
	}
}
