package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Execution defaults.
const (
	DefaultParallel  = 64
	DefaultKillGrace = 2 * time.Second
)

// drainTimeout bounds how long a stopped host's output may keep arriving:
// a hung host never closes its channel, and the run must not wait for it.
const drainTimeout = 500 * time.Millisecond

// RunOptions tunes Run; the zero value is usable.
type RunOptions struct {
	// Parallel is how many hosts run at once (DefaultParallel when <= 0).
	Parallel int
	// Timeout bounds each host's command, from its start (none when 0). A
	// host over it is stopped like a cancelled one and fails as timeout.
	Timeout time.Duration
	// Stdin, when set, gives each host's command its standard input; it is
	// called once per host. Without it the command reads /dev/null. An
	// error from it, or from reading the input, stops the host's command
	// and fails it as cancelled.
	Stdin func(t Target) (Input, error)
	// Env is exported into the command's environment by the remote shell
	// (sshd's AcceptEnv is not needed). Names must be shell names. The
	// values are part of the remote command line, which other users of the
	// host can see in ps: pass no secrets this way.
	Env map[string]string
	// Shell runs the command under this shell (e.g. "/bin/sh") instead of
	// the login shell, which must otherwise be POSIX-like.
	Shell string
	// KillGrace is how long the remote processes get between SIGTERM and
	// SIGKILL once the session ends early (DefaultKillGrace when <= 0).
	KillGrace time.Duration
	// MaxLineLen, MaxRawLen and ProgressInterval tune output splitting;
	// see SplitOptions.
	MaxLineLen       int
	MaxRawLen        int
	ProgressInterval time.Duration
}

// HostStatus is how a host's part in a run ended; the values match the
// store's run-host statuses.
type HostStatus string

// Host statuses.
const (
	StatusOK        HostStatus = "ok"
	StatusFailed    HostStatus = "failed"
	StatusCancelled HostStatus = "cancelled"
)

// HostResult is one host's outcome.
type HostResult struct {
	Host     string
	Status   HostStatus
	Code     int           // exit code; -1 when the command did not exit
	Duration time.Duration // from connecting to the end
	Class    ErrorClass    // ClassNone when Status is StatusOK
	Err      error         // a *HostError when the host failed
	Lines    int64         // stdout and stderr line events
	Bytes    int64         // stdout and stderr bytes
}

// Run runs cmd on every target, at most opts.Parallel hosts at once, and
// returns each host's outcome; a host's failure never affects another. A
// host still waiting for its connection after a second gives its place
// to the next host and takes one again before its command starts, so a
// few hung hosts never hold the run up for their handshake timeout.
// Target names label the events and should be unique.
//
// Each host's events go to emit in order: EventQueued (for every host, up
// front), EventConnecting, EventStarted, EventStdout / EventStderr /
// EventProgress, then exactly one of EventExited (Code, Duration; a
// non-zero exit also sets Class command-failed and Err) or EventFailed
// (Class, Err). emit is called synchronously, from several goroutines at
// once (hosts run concurrently), so it must be safe for concurrent use;
// the calls for one host never overlap. A slow emit slows that host's
// output (SSH flow control holds the remote command), never other hosts:
// an emit that feeds a UI should only append to a buffer that the UI
// drains in batches. emit may be nil.
//
// Cancelling ctx or reaching opts.Timeout stops the remote command: the
// command runs under a wrapper that ties its process group to the session
// (see remoteCommand), so closing the session kills, within KillGrace,
// everything the command started that stayed in its group (daemons that
// call setsid leave it). A hung host is given up on at once; its processes
// die when it resumes.
//
// The error is non-nil only when the options are invalid; nothing ran then.
func Run(ctx context.Context, conn Connector, targets []Target, cmd string, opts RunOptions, emit func(Event)) (Result, error) {
	if err := opts.validate(); err != nil {
		return Result{}, err
	}
	if conn == nil && len(targets) > 0 {
		return Result{}, errors.New("ops: Run without a Connector")
	}
	if emit == nil {
		emit = func(Event) {}
	}
	began := time.Now()
	hosts := make([]*hostEmitter, len(targets))
	for i, t := range targets {
		hosts[i] = &hostEmitter{host: t.Name, emit: emit}
		hosts[i].send(Event{Kind: EventQueued})
	}
	results := make([]HostResult, len(targets))
	var wg sync.WaitGroup
	slots := newSlots(opts.parallel()) // the bound on hosts at work at once (slot.go)
	for i, t := range targets {
		s := acquire(slots)
		wg.Go(func() {
			defer s.release()
			results[i] = runHost(ctx, conn, t, cmd, &opts, hosts[i], s) // failures are per host, never the run's
		})
	}
	wg.Wait()
	return newResult(results, time.Since(began)), nil
}

// Validate checks the options as Run does, so an operation can refuse
// them before it records a run.
func (o RunOptions) Validate() error { return o.validate() }

func (o *RunOptions) validate() error {
	if o.Parallel < 0 || o.Timeout < 0 || o.KillGrace < 0 {
		return errors.New("ops: negative Parallel, Timeout or KillGrace")
	}
	for k := range o.Env {
		if !isShellName(k) {
			return fmt.Errorf("ops: environment variable name %q is not a shell name", k)
		}
	}
	return nil
}

func (o *RunOptions) parallel() int {
	if o.Parallel <= 0 {
		return DefaultParallel
	}
	return o.Parallel
}

func (o *RunOptions) split() SplitOptions {
	return SplitOptions{MaxLineLen: o.MaxLineLen, MaxRawLen: o.MaxRawLen, ProgressInterval: o.ProgressInterval}.withDefaults()
}

// hostEmitter serialises one host's events, stamps them, counts its output,
// and drops anything sent after the host's final event (output of a
// stopped host can straggle in after the run gave up on it).
type hostEmitter struct {
	host string
	emit func(Event)

	mu           sync.Mutex
	done         bool
	lines, bytes int64
}

func (h *hostEmitter) send(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.done {
		return
	}
	if ev.Kind == EventExited || ev.Kind == EventFailed {
		h.done = true
	}
	if ev.Kind == EventStdout || ev.Kind == EventStderr {
		h.lines++
		h.bytes += int64(len(ev.Raw))
	}
	ev.Host = h.host
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	h.emit(ev)
}

// runHost is one host's whole part in a run.
func runHost(ctx context.Context, conn Connector, t Target, cmd string, o *RunOptions, he *hostEmitter, s *slot) HostResult {
	began := time.Now()
	res := HostResult{Host: t.Name, Code: -1}
	fail := func(err error) HostResult {
		herr := Classify(t.Name, err)
		res.Duration = time.Since(began)
		res.Class, res.Err = herr.Class, herr
		res.Status = StatusFailed
		if herr.Class == ClassCancelled {
			res.Status = StatusCancelled
		}
		he.send(Event{Kind: EventFailed, Class: herr.Class, Err: herr, Duration: res.Duration})
		res.Lines, res.Bytes = he.counts()
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err) // cancelled while queued
	}
	he.send(Event{Kind: EventConnecting})
	sess, err := s.connect(ctx, func() (*ssh.Session, error) { return newSession(ctx, conn, t) })
	if err != nil {
		return fail(err)
	}
	defer sess.Close()

	var in *Input
	if o.Stdin != nil {
		i, err := o.Stdin(t)
		if err == nil && (i.R == nil || i.Size < 0) {
			err = errors.New("no reader or a negative size")
		}
		if err != nil {
			return fail(&HostError{Host: t.Name, Class: ClassCancelled, Err: fmt.Errorf("standard input: %w", err)})
		}
		in = &i
	}
	x, err := startCommand(sess, remoteCommand(cmd, o, in), o.split(), he)
	if err != nil {
		return fail(err)
	}

	cctx := ctx
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		cctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	inputErr := make(chan error, 1)
	if in != nil {
		go func() {
			if err := sendInput(x.stdin, *in, o.split().ProgressInterval, he); err != nil {
				inputErr <- err
			}
		}()
	}

	select {
	case err = <-x.wait:
		x.drain(0)
	case err = <-inputErr:
		x.stop()
		x.drain(drainTimeout)
		return fail(&HostError{Host: t.Name, Class: ClassCancelled, Err: fmt.Errorf("standard input: %w", err)})
	case <-cctx.Done():
		x.stop()
		x.drain(drainTimeout)
		if ctx.Err() != nil {
			return fail(ctx.Err())
		}
		return fail(&HostError{Host: t.Name, Class: ClassTimeout, Err: fmt.Errorf("command did not finish within %v", o.Timeout)})
	}

	var exit *ssh.ExitError
	switch {
	case err == nil:
		res.Code, res.Status = 0, StatusOK
	case errors.As(err, &exit):
		res.Code, res.Status = exit.ExitStatus(), StatusFailed
		res.Class, res.Err = ClassExit, &HostError{Host: t.Name, Class: ClassExit, Err: err}
	default:
		return fail(err) // ExitMissingError and the like: the connection died
	}
	res.Duration = time.Since(began)
	he.send(Event{Kind: EventExited, Code: res.Code, Duration: res.Duration, Class: res.Class, Err: res.Err})
	res.Lines, res.Bytes = he.counts()
	return res
}

func (h *hostEmitter) counts() (lines, bytes int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.lines, h.bytes
}

// sessionOpener is a Connector that opens sessions itself, as the Pool
// does (agent forwarding, one redial of a pooled connection found dead).
type sessionOpener interface {
	Session(ctx context.Context, t Target) (*ssh.Session, error)
}

// newSession opens a session on the target's connection. A pooled
// connection may have died since its last use; as no command has run yet,
// one retry on a fresh connection is safe.
func newSession(ctx context.Context, conn Connector, t Target) (*ssh.Session, error) {
	if so, ok := conn.(sessionOpener); ok {
		s, err := so.Session(ctx, t)
		if err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return s, err
	}
	var err error
	for attempt := 0; attempt < 2 && ctx.Err() == nil; attempt++ {
		var c *ssh.Client
		if c, err = conn.Client(ctx, t); err != nil {
			break
		}
		var s *ssh.Session
		if s, err = c.NewSession(); err == nil {
			return s, nil
		}
		err = fmt.Errorf("open session: %w", err)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return nil, err
}

// command is a started remote command and the goroutines reading its output.
type command struct {
	sess    *ssh.Session
	stdin   io.Writer
	wait    chan error // the session's end, from Session.Wait
	readers sync.WaitGroup
	out     *LineSplitter
	errs    *LineSplitter
}

// startCommand starts line on sess, sends EventStarted, and starts reading
// its output into line events.
func startCommand(sess *ssh.Session, line string, so SplitOptions, he *hostEmitter) (*command, error) {
	x := &command{
		sess: sess, wait: make(chan error, 1),
		out:  NewLineSplitter(EventStdout, so, he.send),
		errs: NewLineSplitter(EventStderr, so, he.send),
	}
	// Stdin is a pipe we never close: see remoteCommand.
	stdin, err := sess.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("session stdin: %w", err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("session stdout: %w", err)
	}
	stderr, err := sess.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("session stderr: %w", err)
	}
	if err := sess.Start(line); err != nil {
		return nil, fmt.Errorf("start command: %w", err)
	}
	x.stdin = stdin
	he.send(Event{Kind: EventStarted})
	x.readers.Go(func() { copyLines(x.out, stdout) })
	x.readers.Go(func() { copyLines(x.errs, stderr) })
	go func() { x.wait <- sess.Wait() }()
	return x, nil
}

// copyLines feeds r to s until r ends; a read error ends the stream too,
// and the session's end says why. Half an SSH packet of buffer keeps
// reads few and idle hosts cheap; the buffers are reused across hosts and
// runs (the splitter keeps no reference to what it is given), so a run
// on many hosts does not allocate two of them per host.
func copyLines(s *LineSplitter, r io.Reader) {
	bp := readBufs.Get().(*[]byte)
	defer readBufs.Put(bp)
	_, _ = io.CopyBuffer(s, r, *bp)
}

var readBufs = sync.Pool{New: func() any {
	b := make([]byte, 16<<10)
	return &b
}}

// stop ends the session early by closing the channel, which the remote
// watchdog acts on (see remoteCommand). It sends no "signal" request:
// OpenSSH refuses those for root, and where it delivers them they hit the
// same process group, where a SIGTERM that killed the shell first would
// make the watchdog take the end for a normal one and skip the SIGKILL.
// It does not block: on a hung host even sending can stall.
func (x *command) stop() {
	go func() { _ = x.sess.Close() }()
}

// drain waits for the output readers, at most limit when it is > 0, then
// flushes both streams' last partial lines. Output still arriving after
// that is dropped.
func (x *command) drain(limit time.Duration) {
	if limit > 0 {
		done := make(chan struct{})
		go func() { x.readers.Wait(); close(done) }()
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
		}
	} else {
		x.readers.Wait()
	}
	x.out.Close()
	x.errs.Close()
}
