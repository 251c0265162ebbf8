package webtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Load is a running load generator started by [StartLoad].
type Load struct {
	url     string
	host    string // the Host header; empty: the URL's
	fields  []string
	start   time.Time
	stopped atomic.Bool
	wg      sync.WaitGroup
	workers []*loadWorker

	stopOnce sync.Once
	result   LoadResult
}

// LoadResult counts what a [Load] sent and got.
type LoadResult struct {
	Total  int64 // requests completed (answered or failed)
	Failed int64 // non-2xx answers and transport errors
	// ByStatus counts answers by HTTP status; 0 counts transport errors.
	ByStatus map[int]int64
	// Releases holds every distinct key seen in response bodies: by default
	// the value of "release=" (see [KeyFields]); bodies without it are not
	// counted here.
	Releases map[string]Seen
	// Errors counts transport errors by message (at most 20 distinct).
	Errors  map[string]int64
	Start   time.Time     // when the load started
	Elapsed time.Duration // from Start to Stop (or to the snapshot)
	Max     time.Duration // slowest request
	latency []int64       // histogram, see latencyBucket
}

// Seen tells how often and when a key was seen.
type Seen struct {
	Count       int64
	First, Last time.Time // when the answers carrying it arrived
	// LastSent is when the request of the last answer was sent: a key
	// with LastSent before T was not served to any request sent after T.
	LastSent time.Time
}

// LoadOption configures [StartLoad].
type LoadOption func(*Load)

// KeyFields sets the body fields ("name=value", separated by white space)
// whose values make up the keys of [LoadResult.Releases], joined by one
// space in the order given: KeyFields("host", "release") counts keys like
// "web1 20260105090000". A body lacking one of them is not counted. The
// default is KeyFields("release").
func KeyFields(names ...string) LoadOption {
	return func(l *Load) { l.fields = slices.Clone(names) }
}

// WithHost sends host as every request's Host header: the site's name,
// for an app that accepts only its own (Django's ALLOWED_HOSTS).
func WithHost(host string) LoadOption {
	return func(l *Load) { l.host = host }
}

// maxBody is how much of a body is searched for the key fields.
const maxBody = 4 << 10

// StartLoad starts conns goroutines that each send GET url back to back on
// their own keep-alive connection until Stop is called or ctx is done.
// Requests in flight when it stops are completed, never cancelled, so that
// stopping counts no failure.
func StartLoad(ctx context.Context, url string, conns int, opts ...LoadOption) *Load {
	l := &Load{url: url, fields: []string{"release"}, start: time.Now()}
	for _, opt := range opts {
		opt(l)
	}
	for range max(conns, 1) {
		w := newLoadWorker(l)
		l.workers = append(l.workers, w)
		l.wg.Go(w.run)
	}
	go func() {
		select {
		case <-ctx.Done():
			l.stopped.Store(true)
		case <-l.done():
		}
	}()
	return l
}

// done returns a channel closed once every worker has returned.
func (l *Load) done() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(ch)
	}()
	return ch
}

// Stop stops the load, waits for the requests in flight and returns the
// final counts. Further calls return the same result.
func (l *Load) Stop() LoadResult {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		l.wg.Wait()
		l.result = l.Snapshot()
		for _, w := range l.workers {
			w.transport.CloseIdleConnections()
		}
	})
	return l.result
}

// Snapshot returns the counts so far, while the load runs.
func (l *Load) Snapshot() LoadResult {
	r := LoadResult{
		ByStatus: make(map[int]int64),
		Releases: make(map[string]Seen),
		Errors:   make(map[string]int64),
		Start:    l.start,
		Elapsed:  time.Since(l.start),
		latency:  make([]int64, latencyBuckets),
	}
	for _, w := range l.workers {
		w.mu.Lock()
		r.Total += w.total
		r.Failed += w.failed
		r.Max = max(r.Max, w.max)
		for i, n := range w.status {
			if n > 0 {
				r.ByStatus[i] += n
			}
		}
		for k, s := range w.seen {
			m, ok := r.Releases[k]
			if !ok || s.First.Before(m.First) {
				m.First = s.First
			}
			if s.Last.After(m.Last) {
				m.Last = s.Last
			}
			if s.LastSent.After(m.LastSent) {
				m.LastSent = s.LastSent
			}
			m.Count += s.Count
			r.Releases[k] = m
		}
		for k, n := range w.errors {
			if _, ok := r.Errors[k]; ok || len(r.Errors) < 20 {
				r.Errors[k] += n
			}
		}
		for i, n := range w.latency {
			r.latency[i] += n
		}
		w.mu.Unlock()
	}
	return r
}

// Keys returns the keys of Releases ordered by the time each was first seen.
func (r LoadResult) Keys() []string {
	keys := slices.Collect(maps.Keys(r.Releases))
	slices.SortFunc(keys, func(a, b string) int {
		return r.Releases[a].First.Compare(r.Releases[b].First)
	})
	return keys
}

// Percentile returns the latency below which the fraction p (0 to 1) of the
// requests completed, to the millisecond.
func (r LoadResult) Percentile(p float64) time.Duration {
	var total int64
	for _, n := range r.latency {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := int64(p * float64(total))
	var sum int64
	for i, n := range r.latency {
		sum += n
		if sum > want || sum == total {
			if i == latencyBuckets-1 {
				return r.Max
			}
			return time.Duration(i+1) * time.Millisecond
		}
	}
	return r.Max
}

// String summarizes the result on one line.
func (r LoadResult) String() string {
	var b strings.Builder
	rate := 0.0
	if r.Elapsed > 0 {
		rate = float64(r.Total) / r.Elapsed.Seconds()
	}
	fmt.Fprintf(&b, "%d requests in %v (%.0f/s), %d failed, p50 %v p99 %v max %v, status",
		r.Total, r.Elapsed.Round(time.Millisecond), rate, r.Failed,
		r.Percentile(0.5), r.Percentile(0.99), r.Max.Round(time.Millisecond))
	for _, s := range slices.Sorted(maps.Keys(r.ByStatus)) {
		fmt.Fprintf(&b, " %d:%d", s, r.ByStatus[s])
	}
	for _, k := range r.Keys() {
		s := r.Releases[k]
		fmt.Fprintf(&b, "; %q x%d from +%v to +%v", k, s.Count,
			s.First.Sub(r.Start).Round(time.Millisecond), s.Last.Sub(r.Start).Round(time.Millisecond))
	}
	for e, n := range r.Errors {
		fmt.Fprintf(&b, "; error x%d: %s", n, e)
	}
	return b.String()
}

const latencyBuckets = 5000 // 1 ms each; the last one holds the rest

// loadWorker is one connection's goroutine and its counts.
type loadWorker struct {
	l         *Load
	transport *http.Transport
	buf       []byte
	key       []byte
	needles   [][]byte

	mu      sync.Mutex
	total   int64
	failed  int64
	max     time.Duration
	status  []int64 // by status code, 0 = transport error
	seen    map[string]*Seen
	errors  map[string]int64
	latency []int64
}

func newLoadWorker(l *Load) *loadWorker {
	w := &loadWorker{
		l: l,
		transport: &http.Transport{
			MaxIdleConns:          1,
			MaxIdleConnsPerHost:   1,
			MaxConnsPerHost:       1,
			DisableCompression:    true,
			ResponseHeaderTimeout: 30 * time.Second,
			IdleConnTimeout:       time.Minute,
		},
		buf:     make([]byte, maxBody),
		status:  make([]int64, 600),
		seen:    make(map[string]*Seen),
		errors:  make(map[string]int64),
		latency: make([]int64, latencyBuckets),
	}
	for _, f := range l.fields {
		w.needles = append(w.needles, []byte(f+"="))
	}
	return w
}

// run sends requests until the load stops.
func (w *loadWorker) run() {
	req, err := http.NewRequest(http.MethodGet, w.l.url, nil)
	if err != nil {
		now := time.Now()
		w.record(0, now, now, nil, err)
		return
	}
	if w.l.host != "" {
		req.Host = w.l.host
	}
	for !w.l.stopped.Load() {
		start := time.Now()
		resp, err := w.transport.RoundTrip(req)
		if err != nil {
			w.record(0, start, time.Now(), nil, err)
			// Back off a little so that a dead server is not spun on.
			time.Sleep(time.Millisecond)
			continue
		}
		n, err := readFull(resp.Body, w.buf)
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		now := time.Now()
		if err != nil {
			w.record(0, start, now, nil, err)
			continue
		}
		w.record(resp.StatusCode, start, now, w.buf[:n], nil)
	}
}

// readFull reads into buf until it is full or r ends.
func readFull(r io.Reader, buf []byte) (int, error) {
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	return n, err
}

// record counts one request, sent at sent and completed at now.
func (w *loadWorker) record(status int, sent, now time.Time, body []byte, err error) {
	took := now.Sub(sent)
	key, hasKey := w.keyOf(body)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.total++
	w.max = max(w.max, took)
	w.latency[min(int(took/time.Millisecond), latencyBuckets-1)]++
	if status < 0 || status >= len(w.status) {
		status = 0
	}
	w.status[status]++
	if err != nil || status < 200 || status > 299 {
		w.failed++
	}
	if err != nil {
		msg := err.Error()
		if _, ok := w.errors[msg]; ok || len(w.errors) < 20 {
			w.errors[msg]++
		}
	}
	if hasKey {
		s := w.seen[string(key)] // no allocation for the lookup
		if s == nil {
			s = &Seen{First: now}
			w.seen[string(key)] = s
		}
		s.Count++
		s.Last = now
		s.LastSent = sent
	}
}

// keyOf builds the key of body into w.key.
func (w *loadWorker) keyOf(body []byte) ([]byte, bool) {
	if len(body) == 0 {
		return nil, false
	}
	w.key = w.key[:0]
	for i, needle := range w.needles {
		v, ok := fieldValue(body, needle)
		if !ok {
			return nil, false
		}
		if i > 0 {
			w.key = append(w.key, ' ')
		}
		w.key = append(w.key, v...)
	}
	return w.key, true
}

// fieldValue returns the value of "name=value" in body, where needle is
// "name=" and starts the body or follows white space.
func fieldValue(body, needle []byte) ([]byte, bool) {
	off := 0
	for {
		i := bytes.Index(body[off:], needle)
		if i < 0 {
			return nil, false
		}
		i += off
		if i == 0 || isSpace(body[i-1]) {
			v := body[i+len(needle):]
			end := 0
			for end < len(v) && !isSpace(v[end]) {
				end++
			}
			return v[:end], true
		}
		off = i + len(needle)
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }
