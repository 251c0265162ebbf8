package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// tailLines is how many last output lines of a failed host the summary shows.
const tailLines = 8

// hostRun is one host's part in a deploy or rollback.
type hostRun struct {
	host     inventory.Host
	target   remote.Target
	deployTo string
	began    time.Time

	// What current pointed at before, to switch back to.
	prevRelease, prevCommit string
	checkRev                string // REVISION of the release the runner checks

	mu         sync.Mutex
	failed     bool
	failStep   string
	class      remote.ErrorClass
	err        error
	switched   bool // current points at this deploy's release
	rolledBack bool // switched back after a failure
	done       bool // a resumed deploy found it on the release already
	stage      string
	tail       []string
	// back is what became of the host after the deploy switched it back:
	// "rolled back to R: healthy" (said after its own failure).
	back string
}

// live reports whether the host has not failed.
func (h *hostRun) live() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.failed
}

// todo reports whether the host still has work in this deploy: it has not
// failed, and a resumed deploy did not find it done already.
func (h *hostRun) todo() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return !h.failed && !h.done
}

func (h *hostRun) note(line string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tail = append(h.tail, line)
	if len(h.tail) > tailLines {
		h.tail = h.tail[len(h.tail)-tailLines:]
	}
}

// HostOutcome is how a host's part in a deploy or rollback ended.
type HostOutcome struct {
	Host     string
	Status   store.HostStatus // ok, failed, rolled_back, skipped (never reached), cancelled
	Step     string           // the step it failed at
	Class    remote.ErrorClass
	Err      error
	Tail     []string // its last output lines
	Duration time.Duration
	// Release is what current points at now, as far as the deploy knows.
	Release string
}

// Host outcome statuses.
const (
	HostOK         = store.HostOK
	HostFailed     = store.HostFailed
	HostRolledBack = store.HostRolledBack
	HostSkipped    = store.HostSkipped
	HostCancelled  = store.HostCancelled
)

// emitter forwards the engine's events of the steps of a deploy as one
// stream per host: the deploy's own queued, stage and final events, with
// each step's output in between. A step's start and successful end are
// not final for the host, so they are not passed on.
type emitter struct {
	emit  func(remote.Event)
	steps []Step // the plan's, to number stage events
	// lanes order the events of a host where the migration runs alongside
	// the host's own steps (prepare_lanes.go); nil otherwise.
	lanes *lanes
}

func (e emitter) send(ev remote.Event) { e.sendFrom(false, ev) }

// sendIn sends ev of a step running in ctx.
func (e emitter) sendIn(ctx context.Context, ev remote.Event) { e.sendFrom(isSide(ctx), ev) }

func (e emitter) sendFrom(side bool, ev remote.Event) {
	if e.emit == nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if l := e.lanes.of(ev.Host); l != nil {
		l.route(ev, side, e.emit)
		return
	}
	e.emit(ev)
}

func (e emitter) stage(h *hostRun, name string) { e.stageIn(context.Background(), h, name) }

// stageIn moves h to the step name, run in ctx.
func (e emitter) stageIn(ctx context.Context, h *hostRun, name string) {
	if !isSide(ctx) { // a step alongside keeps the host's own stage its own
		h.mu.Lock()
		h.stage = name
		h.mu.Unlock()
	}
	ev := remote.Event{Host: h.host.Name, Kind: remote.EventStage, Line: name, Steps: len(e.steps)}
	for i, s := range e.steps {
		if s.Name == name {
			ev.Step = i + 1
		}
	}
	e.sendIn(ctx, ev)
}

// runStep runs script on host h as part of step, forwarding its output,
// and reports whether it succeeded; a failure marks the host failed (when
// fail is set) and is emitted as the host's final event.
//
// Under the deploy lock, the step is fenced: it does not start once the
// lock is lost on the host, it stops when the lock is lost while it runs,
// and its remote shell first checks that the lock still holds this
// deploy's token (lockGuard). A lost lock always fails the host, fail or
// not: nothing more of this deploy may run there.
func (r *runner) runStep(ctx context.Context, h *hostRun, step, script string, env map[string]string,
	timeout time.Duration, in *remote.Input, fail bool) (string, bool) {
	return r.runStepWith(ctx, h, step, script, env, timeout, in, func() bool { return fail }, nil)
}

// runStepWith is runStep with consume, when set, shown each line of
// output first: a line it returns true for is the caller's alone, neither
// forwarded nor kept in the host's output; and with fail asked only once
// the step failed, so the output can decide it.
func (r *runner) runStepWith(ctx context.Context, h *hostRun, step, script string, env map[string]string,
	timeout time.Duration, in *remote.Input, fail func() bool, consume func(remote.Event) bool) (string, bool) {
	script = sudoPrelude + script
	if r.held != nil {
		if err := r.held.Check(ctx, h.host.Name); err != nil {
			r.fail(h, step, remote.ClassCancelled, err)
			return "", false
		}
		var cancel context.CancelFunc
		ctx, cancel = r.held.HostContext(ctx, h.host.Name)
		defer cancel()
		script = r.held.Guard(h.host.Name) + script
	}
	var out strings.Builder
	var fenced bool
	var said stepSaid
	opts := remote.RunOptions{Env: env, Timeout: timeout}
	if in != nil {
		opts.Stdin = func(remote.Target) (remote.Input, error) { return *in, nil }
	}
	res, err := remote.Run(ctx, r.conn, []remote.Target{h.target}, script, opts, func(ev remote.Event) {
		switch ev.Kind {
		case remote.EventStdout, remote.EventStderr:
			if consume != nil && consume(ev) {
				return
			}
			if ev.Kind == remote.EventStderr && strings.HasPrefix(ev.Line, fenceMarker) {
				fenced = true
			}
			h.note(ev.Line)
			said.line(ev)
			if ev.Kind == remote.EventStdout && out.Len() < 64<<10 {
				out.WriteString(ev.Line)
				out.WriteByte('\n')
			}
			r.events.sendIn(ctx, ev)
		case remote.EventProgress:
			r.events.sendIn(ctx, ev)
		}
	})
	if err != nil {
		res = remote.NewResult([]remote.HostResult{{Host: h.target.Name, Status: remote.StatusFailed, Code: -1, Class: remote.ClassCancelled, Err: err}}, 0)
	}
	hr := res.Hosts[0]
	if hr.Status == remote.StatusOK {
		return out.String(), true
	}
	if r.held != nil {
		var lost *LockLostError
		switch {
		case fenced && hr.Code == fenceExit:
			r.fail(h, step, remote.ClassCancelled, r.held.Fenced(h.host.Name))
			return out.String(), false
		case errors.As(context.Cause(ctx), &lost):
			r.fail(h, step, remote.ClassCancelled, lost)
			return out.String(), false
		}
		// A hung host fails its step and its renewals alike, in either
		// order: when the lock is lost there now, that is the reason.
		if err := r.held.Check(context.WithoutCancel(ctx), h.host.Name); err != nil {
			r.fail(h, step, remote.ClassCancelled, err)
			return out.String(), false
		}
	}
	if fail() {
		err := hr.Err
		if reason := said.reason(); reason != "" && hr.Class == remote.ClassExit {
			err = &reasonError{reason: reason, err: hr.Err}
		}
		r.fail(h, step, hr.Class, err)
	}
	return out.String(), false
}

// stepSaid keeps the last line a step wrote, preferring standard error:
// the line that says why a command failed ("answered HTTP 500: ...", a
// traceback's exception) where its exit status only says that it did.
type stepSaid struct{ lastErr, lastOut string }

func (s *stepSaid) line(ev remote.Event) {
	l := strings.TrimSpace(ev.Line)
	switch {
	case l == "" || strings.HasPrefix(l, fenceMarker):
	case ev.Kind == remote.EventStderr:
		s.lastErr = l
	default:
		s.lastOut = l
	}
}

func (s *stepSaid) reason() string {
	if s.lastErr != "" {
		return s.lastErr
	}
	return s.lastOut
}

// reasonError is a step's failure in the host's own words, wrapping the
// engine's error (whose exit status it keeps).
type reasonError struct {
	reason string
	err    error
}

func (e *reasonError) Error() string { return e.reason }
func (e *reasonError) Unwrap() error { return e.err }

// hostWrite runs one of the deploy's own records on host h (a line of
// revisions.log, a BAD mark) under the lock's fence, and reports whether
// it worked; a failure is a note the operator sees and the run keeps.
func (r *runner) hostWrite(ctx context.Context, h *hostRun, what, script string, env map[string]string) bool {
	if r.held != nil {
		if err := r.held.Check(ctx, h.host.Name); err != nil {
			r.notef("%s: %s not written: %v", h.host.Name, what, err)
			return false
		}
		script = r.held.Guard(h.host.Name) + script
	}
	out, res := runCapture(ctx, r.conn, h.target, script, env, time.Minute)
	if r.held != nil && res.Status != remote.StatusOK && res.Code == fenceExit {
		// The fence refused: the lock was broken since the Check. Said as
		// a lost lock, in the words of a step the fence refused.
		r.notef("%s: %s not written: %v", h.host.Name, what, r.held.Fenced(h.host.Name))
		return false
	}
	if res.Status != remote.StatusOK {
		r.notef("%s: writing %s failed: %v", h.host.Name, what, hostErr(res, out))
		return false
	}
	return true
}

// fail marks h failed at step and emits its final event.
func (r *runner) fail(h *hostRun, step string, class remote.ErrorClass, err error) {
	h.mu.Lock()
	if h.failed {
		h.mu.Unlock()
		return
	}
	h.failed, h.failStep, h.class = true, step, class
	cause := err
	var he *remote.HostError
	var re *reasonError
	switch {
	case errors.As(err, &re):
		cause = errors.New(re.reason)
	case class == remote.ClassExit && errors.As(err, &he) && exitStatus(he.Err) > 0:
		cause = fmt.Errorf("exit status %d", exitStatus(he.Err))
	case errors.As(err, &he) && he.Err != nil:
		cause = he.Err // the host and the class are said already
	}
	h.err = fmt.Errorf("%s: %w", step, cause)
	h.mu.Unlock()
	kind := remote.EventFailed
	ev := remote.Event{Host: h.host.Name, Kind: kind, Class: class, Err: h.err, Duration: time.Since(h.began), Code: -1}
	if class == remote.ClassExit && errors.As(err, &he) {
		ev.Kind = remote.EventExited
		if c := exitStatus(he.Err); c > 0 {
			ev.Code = c
		}
	}
	r.events.send(ev)
}

// exitStatus is the exit status err carries, or -1.
func exitStatus(err error) int {
	var code interface{ ExitStatus() int }
	if errors.As(err, &code) {
		return code.ExitStatus()
	}
	return -1
}

// forEach runs fn on every host of hs at once, at most r.parallel at a time.
func (r *runner) forEach(hs []*hostRun, fn func(h *hostRun)) {
	sem := make(chan struct{}, max(r.parallel, 1))
	var wg sync.WaitGroup
	for _, h := range hs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(h)
		})
	}
	wg.Wait()
}

// runCapture runs script on one host for opsui's own bookkeeping (locks,
// inspection) and returns its standard output; a failure's error carries
// the last lines of standard error.
func runCapture(ctx context.Context, conn remote.Connector, t remote.Target, script string, env map[string]string, timeout time.Duration) (string, remote.HostResult) {
	var out, errs strings.Builder
	res, err := remote.Run(ctx, conn, []remote.Target{t}, sudoPrelude+script, remote.RunOptions{Env: env, Timeout: timeout}, func(ev remote.Event) {
		switch ev.Kind {
		case remote.EventStdout:
			if out.Len() < 64<<10 {
				out.WriteString(ev.Line + "\n")
			}
		case remote.EventStderr:
			if errs.Len() < 4<<10 {
				errs.WriteString(ev.Line + "\n")
			}
		}
	})
	if err != nil {
		return "", remote.HostResult{Host: t.Name, Status: remote.StatusFailed, Class: remote.ClassCancelled, Err: err}
	}
	hr := res.Hosts[0]
	if hr.Status != remote.StatusOK && errs.Len() > 0 {
		hr.Err = fmt.Errorf("%w: %s", hr.Err, strings.TrimSpace(errs.String()))
	}
	return out.String(), hr
}

// hostErr is the error of a failed bookkeeping command.
func hostErr(res remote.HostResult, out string) error {
	if res.Err != nil {
		return res.Err
	}
	return fmt.Errorf("%s: %s", res.Class, strings.TrimSpace(out))
}
