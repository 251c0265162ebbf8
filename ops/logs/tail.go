package logs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// Defaults of Options.
const (
	DefaultSinceLines   = 10
	DefaultBuffer       = 10000
	DefaultRetryMin     = time.Second
	DefaultRetryMax     = 30 * time.Second
	DefaultCatchUpLimit = 4 << 20
)

// Source is one host and the files to follow on it.
type Source struct {
	Host  remote.Target
	Paths []string
	// Sudo are the Paths read through `sudo -n` (their role's logs_sudo:
	// true) with the exact commands of inventory.SudoTailCommands.
	Sudo []string
}

// Options tunes Tail; the zero value is usable.
type Options struct {
	// SinceLines is how many existing lines of each file to show first
	// (tail -n); 0 shows none, a negative value means DefaultSinceLines.
	SinceLines int
	// Buffer is how many lines a Buffer built by NewBuffer(opts) keeps per
	// host (DefaultBuffer when <= 0). Tail itself keeps no lines.
	Buffer int
	// RetryMin and RetryMax bound the wait before reconnecting a dropped
	// host: it doubles from RetryMin on each failed attempt, up to RetryMax.
	RetryMin, RetryMax time.Duration
	// CatchUpLimit caps how many bytes written while a host was down are
	// shown once it is back (DefaultCatchUpLimit when <= 0); the marker says
	// when more were skipped.
	CatchUpLimit int64
	// MaxLineLen caps a line's display text (ops.DefaultMaxLineLen when 0).
	MaxLineLen int
}

func (o Options) withDefaults() Options {
	if o.SinceLines < 0 {
		o.SinceLines = DefaultSinceLines
	}
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(o.RetryMin, DefaultRetryMax)
	}
	if o.CatchUpLimit <= 0 {
		o.CatchUpLimit = DefaultCatchUpLimit
	}
	return o
}

// Tail follows every path of every source until ctx ends, with tail -F
// semantics (a renamed or recreated file is followed by name, a truncated
// one from its start), each file over its own session on the host's
// pooled connection, and sends each line to emit as it arrives.
//
// It starts with the last SinceLines lines of each file. When a host's
// connection drops, a KindDropped marker says so and the file is followed
// again after a backoff; a KindReconnected marker then says what happened
// meanwhile: the lines written while the host was unreachable follow it
// (flagged Backlog), from exactly where the stream stopped, when the file is
// the same one and grew; when it was replaced or truncated, the new content
// is shown from its start and the marker says the old file's last lines are
// not; when the position was unknown, only new lines are shown and the
// marker says so. Lines are never shown twice.
//
// emit is called from several goroutines at once (one per file); the calls
// for one file never overlap and come in the file's order. It must not
// block for long: a slow emit holds that file's stream.
//
// A file read through sudo (Source.Sudo, see sudo.go) that the deploy
// user may not read is not retried: a KindDropped marker gives the exact
// sudoers line, and Tail returns the *SudoRefusal errors when no file is
// left to follow.
//
// Tail returns nil when ctx ends, or an error when the arguments are
// invalid, before anything started.
func Tail(ctx context.Context, conn remote.Connector, sources []Source, opts Options, emit func(Line)) error {
	if conn == nil {
		return errors.New("logs: Tail without a Connector")
	}
	if emit == nil {
		return errors.New("logs: Tail without an emit function")
	}
	opts = opts.withDefaults()
	var wg sync.WaitGroup
	for _, s := range sources {
		if s.Host.Name == "" {
			return errors.New("logs: a source without a host name")
		}
		for _, p := range s.Paths {
			if p == "" {
				return fmt.Errorf("logs: %s: an empty path", s.Host.Name)
			}
		}
	}
	var followers []*follower
	for _, s := range sources {
		for _, p := range s.Paths {
			f := &follower{conn: conn, target: s.Host, path: p, opts: opts, emit: emit, off: -1, sudo: slices.Contains(s.Sudo, p)}
			followers = append(followers, f)
			wg.Go(func() { f.run(ctx) })
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	var errs []error
	for _, f := range followers {
		errs = append(errs, f.err)
	}
	return errors.Join(errs...)
}

// followStream is one connection's follow of a file: an ordinary one
// (stream) or one through sudo (sudoStream).
type followStream interface {
	command() string
	event(remote.Event)
	finish()
	running() bool  // the follow began on this connection
	refused() error // sudo refused it: do not retry
}

// follower follows one file of one host across reconnects.
type follower struct {
	conn   remote.Connector
	target remote.Target
	path   string
	opts   Options
	emit   func(Line)

	started bool   // a follow began once: later ones resume
	id      string // the file's "dev:ino"; "?" unknown, "-" missing
	off     int64  // bytes of the file shown so far; -1 unknown
	sudo    bool   // read through sudo (sudo.go)
	err     error  // why the follow stopped for good
}

func (f *follower) run(ctx context.Context) {
	failures := 0 // failed attempts in a row
	var downSince time.Time
	for ctx.Err() == nil {
		var s followStream
		if f.sudo {
			s = newSudoStream(f, downSince)
		} else {
			st := &stream{f: f, nonce: nonce(), resume: f.started, down: downSince}
			_, st.tag = tailName(f.path, st.nonce)
			s = st
		}
		res, err := remote.Run(ctx, f.conn, []remote.Target{f.target}, s.command(),
			remote.RunOptions{Parallel: 1, MaxLineLen: f.opts.MaxLineLen}, s.event)
		s.finish()
		if ctx.Err() != nil {
			return
		}
		if f.err = s.refused(); f.err != nil {
			f.marker(KindDropped, "cannot follow: "+f.err.(*SudoRefusal).Reason())
			return
		}
		reason := "the follow ended"
		switch {
		case err != nil:
			reason = err.Error()
		case len(res.Hosts) == 1 && res.Hosts[0].Err != nil:
			reason = unwrapHost(res.Hosts[0].Err).Error()
		}
		if s.running() {
			failures = 0
			downSince = time.Now()
		} else if downSince.IsZero() {
			downSince = time.Now()
		}
		delay := backoff(f.opts.RetryMin, f.opts.RetryMax, failures)
		failures++
		if s.running() || failures == 1 {
			what := "connection lost"
			if !f.started {
				what = "cannot follow" // it never started
			}
			f.marker(KindDropped, fmt.Sprintf("%s (%s); retrying in %s", what, reason, delay.Round(time.Millisecond)))
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the wait before attempt n+1 after n failures in a row.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := lo
	for range n {
		d *= 2
		if d >= hi {
			return hi
		}
	}
	return d
}

func (f *follower) marker(k Kind, text string) {
	f.emit(Line{Host: f.target.Name, File: f.path, Time: time.Now(), Text: text, Kind: k})
}

// stream reads one connection's output of a follow script.
type stream struct {
	f      *follower
	nonce  string
	tag    string // in the name tail follows the file by (tailName)
	resume bool
	down   time.Time // when the host dropped (resume only)

	marked  bool  // the marker line came: the follow runs
	backlog bool  // between a start's marker and its backlog-end marker
	blank   bool  // an empty line held back (it may precede the marker)
	catchUp int64 // bytes still to come that were written while down
}

func (s *stream) event(ev remote.Event) {
	if ev.Kind != remote.EventStdout && ev.Kind != remote.EventStderr {
		return
	}
	s.line(ev.Line, int64(len(ev.Raw)), ev.Time)
}

func (s *stream) line(text string, n int64, at time.Time) {
	f := s.f
	if !s.marked {
		if m, ok := parseMarker(text, s.nonce); ok {
			s.blank = false // the newline printed before the marker
			s.start(m, at)
			return
		}
		if s.blank {
			s.send(Line{Text: "", Time: at, Backlog: true})
			s.blank = false
		}
		if text == "" && !s.resume {
			s.blank = true
			return
		}
		s.send(Line{Text: text, Time: at, Backlog: true, Kind: kindOf(s.resume)})
		return
	}
	if s.backlog { // the file's last lines, before the offset the follow starts at
		if m, ok := parseMarker(text, s.nonce); ok && m.reason == backlogEnd {
			s.backlog = false
			return
		}
		s.send(Line{Text: text, Time: at, Backlog: true})
		return
	}
	if k, shown, reset, ok := tailMessage(text, s.tag); ok {
		text = shown
		if reset {
			f.id = "?" // a new file we have not stat'ed
			if f.off >= 0 {
				f.off = 0
			}
			s.catchUp = 0
		}
		s.send(Line{Text: text, Time: at, Kind: k})
		return
	}
	if f.off >= 0 {
		f.off += n
	}
	backlog := s.catchUp > 0
	s.catchUp -= n
	s.send(Line{Text: text, Time: at, Backlog: backlog, Level: DetectLevel(text)})
}

func (s *stream) command() string {
	if s.resume {
		f := s.f
		return resumeScript(f.path, s.nonce, f.id, f.off, f.opts.CatchUpLimit)
	}
	return startScript(s.f.path, s.nonce, s.f.opts.SinceLines)
}

func (s *stream) running() bool  { return s.marked }
func (s *stream) refused() error { return nil }

// kindOf is the kind of unexpected output before a resume's marker.
func kindOf(resume bool) Kind {
	if resume {
		return KindNotice
	}
	return KindLine
}

// start takes the marker: the follow runs from m.pos.
func (s *stream) start(m marker, at time.Time) {
	f := s.f
	s.marked = true
	f.id, f.off = m.id, m.pos
	if m.id == "-" && m.pos < 0 {
		f.off = 0 // a missing file is followed from its start
	}
	if !s.resume {
		f.started = true
		s.backlog = true
		return
	}
	s.catchUp = max(0, m.size-m.pos)
	text := m.describe()
	if !s.down.IsZero() {
		text += fmt.Sprintf(" (down %s)", at.Sub(s.down).Round(100*time.Millisecond))
	}
	s.send(Line{Text: text, Time: at, Kind: KindReconnected})
}

func (s *stream) send(l Line) { s.f.send(l) }

// send emits a line of the followed file, its host, file and level set.
func (f *follower) send(l Line) {
	l.Host, l.File = f.target.Name, f.path
	if l.Kind == KindLine && l.Level == LevelNone {
		l.Level = DetectLevel(l.Text)
	}
	f.emit(l)
}

// finish flushes a held empty line.
func (s *stream) finish() {
	if s.blank {
		s.send(Line{Text: "", Time: time.Now(), Backlog: true})
		s.blank = false
	}
}

func nonce() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// unwrapHost drops the "host: class:" prefix of an *ops.HostError: the
// line already names the host.
func unwrapHost(err error) error {
	var he *remote.HostError
	if errors.As(err, &he) && he.Err != nil {
		return fmt.Errorf("%s: %w", he.Class, he.Err)
	}
	return err
}
