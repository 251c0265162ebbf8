package logs

import (
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// HostState is what a Buffer knows of one host's follow.
type HostState struct {
	Name    string
	Lines   uint64    // file lines received
	Markers uint64    // markers received
	Down    bool      // the last marker said the connection was lost
	Since   time.Time // when Down last changed
	Last    time.Time // when the last line arrived
}

// Buffer is where Tail's lines land for a display: one merged stream in a
// ring of perHost lines per host (so memory is bounded by the number of
// hosts, not by how long they talk), per-host counters and state, and the
// error aggregation. It is safe for concurrent use: Tail's goroutines Add
// while a UI reads on its own ticks.
type Buffer struct {
	mu      sync.Mutex
	perHost int
	merged  *remote.Ring[Line]
	hosts   map[string]*HostState
	order   []string
	agg     *Aggregator
}

// NewBuffer returns a buffer for the named hosts keeping perHost lines per
// host (DefaultBuffer when <= 0).
func NewBuffer(hosts []string, perHost int) *Buffer {
	if perHost <= 0 {
		perHost = DefaultBuffer
	}
	b := &Buffer{perHost: perHost, merged: remote.NewRing[Line](perHost * max(1, len(hosts))),
		hosts: map[string]*HostState{}, agg: NewAggregator()}
	for _, h := range hosts {
		b.host(h)
	}
	return b
}

func (b *Buffer) host(name string) *HostState {
	st := b.hosts[name]
	if st == nil {
		st = &HostState{Name: name}
		b.hosts[name] = st
		b.order = append(b.order, name)
	}
	return st
}

// Add takes one line from Tail; it is the emit function to give it.
func (b *Buffer) Add(l Line) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.merged.Push(l)
	st := b.host(l.Host)
	switch l.Kind {
	case KindLine:
		st.Lines++
		st.Last = l.Time
		b.agg.Add(l)
	case KindDropped:
		st.Markers++
		if !st.Down {
			st.Down, st.Since = true, l.Time
		}
	case KindReconnected:
		st.Markers++
		st.Down, st.Since = false, l.Time
	default:
		st.Markers++
	}
}

// Since appends to dst the lines added after the one numbered seq (lines
// are numbered from 1 in the order they were added) and returns it with
// the number of the last line and how many lines between were already
// pushed out of the ring (the reader fell behind by more than its size).
func (b *Buffer) Since(dst []Line, seq uint64) (_ []Line, last uint64, lost uint64) {
	b.mu.Lock() // Add pushes under b.mu: Total and the ring's content agree
	defer b.mu.Unlock()
	total := b.merged.Total()
	if total <= seq {
		return dst, total, 0
	}
	n := total - seq
	if held := uint64(b.merged.Len()); n > held {
		lost, n = n-held, held
	}
	return b.merged.AppendLast(dst, int(n)), total, lost
}

// Window appends to dst the last n (all when n <= 0) of the lines
// numbered up to last that the buffer still holds, oldest first: a reader
// that took the lines up to last sees those, not what arrived since. It
// lets a display show the buffer's lines without a copy of its own.
func (b *Buffer) Window(dst []Line, last uint64, n int) []Line {
	b.mu.Lock()
	defer b.mu.Unlock()
	newer, held := b.upto(last)
	if held <= 0 {
		return dst
	}
	if n <= 0 || n > held {
		n = held
	}
	dst = b.merged.AppendLast(dst, n+newer)
	clear(dst[len(dst)-newer:]) // do not pin the newer lines' text
	return dst[:len(dst)-newer]
}

// Held returns how many of the lines numbered up to last the buffer still
// holds.
func (b *Buffer) Held(last uint64) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, held := b.upto(last)
	return max(0, held)
}

// upto returns how many lines came after the one numbered last, and how
// many up to it are held; b.mu is held.
func (b *Buffer) upto(last uint64) (newer, held int) {
	total := b.merged.Total()
	newer = int(total - min(last, total))
	return newer, b.merged.Len() - newer
}

// Hosts returns each host's state, in the order the hosts were named.
func (b *Buffer) Hosts() []HostState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]HostState, 0, len(b.order))
	for _, h := range b.order {
		out = append(out, *b.hosts[h])
	}
	return out
}

// Top returns the n error groups seen most (all when n <= 0).
func (b *Buffer) Top(n int) []Group {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.agg.Top(n)
}

// ErrorGroups returns how many error groups there are.
func (b *Buffer) ErrorGroups() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.agg.Len()
}

// PerHost returns how many lines the buffer keeps per host.
func (b *Buffer) PerHost() int { return b.perHost }
