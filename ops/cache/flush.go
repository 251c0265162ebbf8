package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/opsui/opsui/ops/remote"
)

// maxKeptLines bounds the output lines of one host kept for parsing; the
// built-in commands print a dozen.
const maxKeptLines = 4096

// Result is one host's flush.
type Result struct {
	Host   string
	Kind   Kind
	Server string // what was flushed, as Spec.Server says
	// Before and After are the keys the server held; Unknown when it could
	// not say (memcached without its LRU crawler, a custom command that
	// prints no counts, a failed host).
	Before, After int64
	Status        remote.HostStatus
	// Err says why the host failed: the built-in command's own message
	// (e.g. "cannot connect to redis at 127.0.0.1:6379: Connection
	// refused"), else the SSH failure.
	Err      error
	Duration time.Duration
}

// OK reports whether the host's cache was flushed.
func (r Result) OK() bool { return r.Status == remote.StatusOK }

// Keys shows the counts as "12 → 0", with "?" for an unknown one.
func (r Result) Keys() string {
	return count(r.Before) + " → " + count(r.After)
}

func count(n int64) string {
	if n == Unknown {
		return "?"
	}
	return fmt.Sprint(n)
}

// Report is a whole flush: each host's result, in the order of the
// targets, and the run's outcome for the record and its summary.
type Report struct {
	Hosts []Result
	Run   remote.Result
}

// Failed returns the hosts whose flush did not succeed.
func (r Report) Failed() []Result {
	var out []Result
	for _, h := range r.Hosts {
		if !h.OK() {
			out = append(out, h)
		}
	}
	return out
}

// Flush runs each target's spec (matched by host name) on it, at most
// opts.Parallel hosts at once (ops.DefaultParallel when <= 0). A host's
// password, if any, goes on its session's standard input; opts.Stdin is
// replaced. Events go to emit as remote.Run sends them (safe for concurrent
// use, may be nil). A host's failure never affects another; cancelling ctx
// stops every host. The error is non-nil only when nothing could run: a
// target without a spec, or invalid options.
func Flush(ctx context.Context, conn remote.Connector, targets []remote.Target, specs []Spec, opts remote.RunOptions, emit func(remote.Event)) (Report, error) {
	byHost := make(map[string]Spec, len(specs))
	for _, s := range specs {
		byHost[s.Host] = s
	}
	for _, t := range targets {
		if _, ok := byHost[t.Name]; !ok {
			return Report{}, fmt.Errorf("flush: no cache settings for host %s", t.Name)
		}
	}
	if opts.Parallel < 0 {
		return Report{}, errors.New("flush: negative Parallel")
	}
	if emit == nil {
		emit = func(remote.Event) {}
	}
	began := time.Now()
	results := make([]Result, len(targets))
	hostResults := make([]remote.HostResult, len(targets))
	limit := opts.Parallel
	if limit == 0 {
		limit = remote.DefaultParallel
	}
	var g errgroup.Group
	g.SetLimit(limit)
	for i, t := range targets {
		g.Go(func() error {
			var err error
			results[i], hostResults[i], err = flushHost(ctx, conn, t, byHost[t.Name], opts, emit)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Report{}, err
	}
	return Report{Hosts: results, Run: remote.NewResult(hostResults, time.Since(began))}, nil
}

// flushHost runs one host's flush and reads its output.
func flushHost(ctx context.Context, conn remote.Connector, t remote.Target, s Spec, opts remote.RunOptions, emit func(remote.Event)) (Result, remote.HostResult, error) {
	o := opts
	o.Parallel = 1
	o.Stdin = nil
	if s.Password != "" {
		o.Stdin = func(remote.Target) (remote.Input, error) {
			pw := string(s.Password) + "\n"
			return remote.Input{R: strings.NewReader(pw), Size: int64(len(pw))}, nil
		}
	}
	var (
		mu     sync.Mutex
		stdout []string
		stderr []string
	)
	keep := func(lines *[]string, l string) {
		if len(*lines) < maxKeptLines {
			*lines = append(*lines, l)
		}
	}
	res, err := remote.Run(ctx, conn, []remote.Target{t}, s.Command(), o, func(ev remote.Event) {
		switch ev.Kind {
		case remote.EventStdout:
			mu.Lock()
			keep(&stdout, ev.Line)
			mu.Unlock()
		case remote.EventStderr:
			mu.Lock()
			keep(&stderr, ev.Line)
			mu.Unlock()
		case remote.EventProgress:
			return // the bytes of the password sent: nothing to show
		}
		emit(ev)
	})
	if err != nil {
		return Result{}, remote.HostResult{}, fmt.Errorf("flush %s: %w", t.Name, err)
	}
	hr := res.Hosts[0]
	mu.Lock()
	defer mu.Unlock()
	c := ParseOutput(s.Kind, s.DB, stdout)
	r := Result{Host: t.Name, Kind: s.Kind, Server: s.Server(), Before: c.Before, After: c.After,
		Status: hr.Status, Err: hr.Err, Duration: hr.Duration}
	if r.OK() {
		return r, hr, nil
	}
	r.After = Unknown
	if hr.Class == remote.ClassExit {
		r.Err = hostError(s, stderr, c, hr)
	}
	return r, hr, nil
}

// hostError explains a flush command that exited non-zero: its own message
// when it left one, else the server's error, else the exit status and the
// last line it wrote.
func hostError(s Spec, stderr []string, c Counts, hr remote.HostResult) error {
	for i := len(stderr) - 1; i >= 0; i-- {
		if msg, ok := strings.CutPrefix(stderr[i], failPrefix); ok {
			return errors.New(msg)
		}
	}
	if c.ServerError != "" {
		return fmt.Errorf("%s answered %q", s.Server(), c.ServerError)
	}
	if n := len(stderr); n > 0 {
		return fmt.Errorf("flush command exited %d: %s", hr.Code, stderr[n-1])
	}
	return fmt.Errorf("flush command exited %d", hr.Code)
}
