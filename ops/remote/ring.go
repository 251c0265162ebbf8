package remote

import "sync"

// Ring keeps the last Cap values pushed into it, dropping the oldest: the
// bounded per-host buffer of display lines, so a chatty host cannot grow
// the console's memory. Push is O(1) and allocation-free. It is safe for
// one writer and any number of readers (and for several writers, though
// their values then interleave).
//
// Keep display values in it (the Line of an event, not its Raw), so it
// does not pin the raw output the store already has.
type Ring[T any] struct {
	mu    sync.Mutex
	buf   []T
	next  int    // where the next value goes
	n     int    // values held
	total uint64 // values ever pushed
}

// NewRing returns a ring holding at most capacity values (at least 1).
func NewRing[T any](capacity int) *Ring[T] {
	return &Ring[T]{buf: make([]T, max(capacity, 1))}
}

// Push adds v, dropping the oldest value when the ring is full.
func (r *Ring[T]) Push(v T) {
	r.mu.Lock()
	r.push(v)
	r.mu.Unlock()
}

// PushAll adds vs in order under one lock: the way to add a batch.
func (r *Ring[T]) PushAll(vs ...T) {
	r.mu.Lock()
	for _, v := range vs {
		r.push(v)
	}
	r.mu.Unlock()
}

func (r *Ring[T]) push(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next = 0
	}
	if r.n < len(r.buf) {
		r.n++
	}
	r.total++
}

// Last returns a copy of the last n values, oldest first; all of them when
// n <= 0 or n exceeds Len.
func (r *Ring[T]) Last(n int) []T {
	return r.AppendLast(nil, n)
}

// AppendLast appends the last n values (all when n <= 0) to dst, oldest
// first, and returns it: a renderer can reuse one slice for every frame.
func (r *Ring[T]) AppendLast(dst []T, n int) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n <= 0 || n > r.n {
		n = r.n
	}
	start := r.next - n
	if start < 0 {
		start += len(r.buf)
		dst = append(dst, r.buf[start:]...)
		start = 0
	}
	return append(dst, r.buf[start:r.next]...)
}

// Len returns how many values the ring holds.
func (r *Ring[T]) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// Cap returns how many values the ring can hold.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Total returns how many values were ever pushed. It only grows (until
// Reset), so a renderer can compare it with the last value it saw to skip
// a frame when nothing changed.
func (r *Ring[T]) Total() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total
}

// Dropped returns how many values were pushed out by newer ones.
func (r *Ring[T]) Dropped() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.total - uint64(r.n)
}

// Reset empties the ring and zeroes its counters.
func (r *Ring[T]) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.buf) // release what the values point to
	r.next, r.n, r.total = 0, 0, 0
}
