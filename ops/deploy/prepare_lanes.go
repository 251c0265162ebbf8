package deploy

import (
	"context"
	"sync"

	"github.com/opsui/opsui/ops/remote"
)

// The migration runs on its host alongside that host's own collectstatic
// (prepare.go). Both write to the host's one pane and record, so the
// host's events are kept in the order the steps would have run in one
// after the other: the migration's (its stage markers, output and the
// migration check's lines) are held until the host's own steps alongside
// it are through, then flushed, then pass live; a host's final event
// (failed, exited) is held until both are over, so it stays the last.

// sideKey marks a context whose steps run alongside the host's own.
type sideKey struct{}

// sideContext is ctx for a step that runs alongside the host's own steps.
func sideContext(ctx context.Context) context.Context {
	return context.WithValue(ctx, sideKey{}, true)
}

func isSide(ctx context.Context) bool {
	side, _ := ctx.Value(sideKey{}).(bool)
	return side
}

// lanes are the hosts where a once step may run alongside the host's own
// steps; the map is set before any of them runs and only read after.
type lanes struct {
	hosts map[string]*lane
}

// lane is one host's two lanes of events.
type lane struct {
	mu      sync.Mutex
	started bool // the side step began on the host
	done    bool // the side step ended
	joined  bool // the host's own steps alongside it are through
	held    []remote.Event
	finals  []remote.Event
}

func newLanes(hs []*hostRun) *lanes {
	l := &lanes{hosts: map[string]*lane{}}
	for _, h := range hs {
		l.hosts[h.host.Name] = &lane{}
	}
	return l
}

func (l *lanes) of(host string) *lane {
	if l == nil {
		return nil
	}
	return l.hosts[host]
}

// route sends ev through emit, or holds it; side says the event comes
// from the step alongside.
func (l *lane) route(ev remote.Event, side bool, emit func(remote.Event)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.started || (l.done && l.joined) {
		emit(ev)
		return
	}
	switch {
	case side && !l.joined:
		l.held = append(l.held, ev)
	case ev.Kind == remote.EventExited || ev.Kind == remote.EventFailed:
		l.finals = append(l.finals, ev)
	default:
		emit(ev)
	}
}

// begin notes that the side step starts on the host, and reports whether
// its events are held for the host's own steps.
func (l *lane) begin() bool {
	if l == nil {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.started = true
	return !l.joined
}

// join notes that the host's own steps alongside are through: the side's
// events so far follow them.
func (l *lane) join(emit func(remote.Event)) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.joined = true
	l.flush(emit)
}

// end notes that the side step is over.
func (l *lane) end(emit func(remote.Event)) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.done = true
	l.flush(emit)
}

// flush emits what may go now; the caller holds l.mu, so nothing of the
// host passes meanwhile.
func (l *lane) flush(emit func(remote.Event)) {
	if !l.joined {
		return
	}
	for _, ev := range l.held {
		emit(ev)
	}
	l.held = nil
	if l.done || !l.started {
		for _, ev := range l.finals {
			emit(ev)
		}
		l.finals = nil
	}
}
