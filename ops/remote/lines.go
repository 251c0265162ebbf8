package remote

import (
	"bytes"
	"errors"
	"sync"
	"time"
	"unicode/utf8"
)

// Output-splitting defaults.
const (
	DefaultMaxLineLen       = 4096                   // display bytes per line
	DefaultMaxRawLen        = 1 << 20                // raw bytes per event
	DefaultProgressInterval = 100 * time.Millisecond // at most one progress event per interval
)

// Raw copies are carved from blocks, so that a line costs one allocation
// (its display string), not two. The blocks grow from minSlab to slabSize,
// so a stream of one short line does not cost a big block.
const (
	minSlab  = 512
	slabSize = 32 << 10
)

// ErrSplitterClosed is returned by Write after Close.
var ErrSplitterClosed = errors.New("ops: line splitter closed")

// SplitOptions tunes a LineSplitter; zero fields take the defaults.
type SplitOptions struct {
	// MaxLineLen caps the display text of a line, in bytes; a longer line
	// is cut at a rune boundary and marked Truncated.
	MaxLineLen int
	// MaxRawLen caps the raw bytes one event carries (plus the newline),
	// which bounds the memory a line without a newline can take. A longer
	// line is delivered as consecutive events of at most MaxRawLen raw
	// bytes each, all marked Truncated, so the record still gets every
	// byte.
	MaxRawLen int
	// ProgressInterval is the least time between two progress events.
	ProgressInterval time.Duration
}

func (o SplitOptions) withDefaults() SplitOptions {
	if o.MaxLineLen <= 0 {
		o.MaxLineLen = DefaultMaxLineLen
	}
	if o.MaxRawLen <= 0 {
		o.MaxRawLen = DefaultMaxRawLen
	}
	if o.ProgressInterval <= 0 {
		o.ProgressInterval = DefaultProgressInterval
	}
	return o
}

// LineSplitter is an io.WriteCloser that cuts one output stream into line
// events of one kind (EventStdout or EventStderr).
//
// Every byte written comes out exactly once in the Raw of an event, newline
// included, so concatenating the Raw of a stream's events gives the stream
// back; Close flushes a last line that has no newline. Line is the display
// text: valid UTF-8 (invalid bytes become U+FFFD), control characters other
// than tab made visible (U+2400 + c, so no escape sequence reaches a
// terminal), a CRLF ending dropped, and at most MaxLineLen bytes.
//
// A line rewritten in place with carriage returns (progress bars) is shown
// by its last non-empty \r-separated part: while the line is still open,
// the latest part is sent as EventProgress at most once per
// ProgressInterval (the last update of a burst is sent when the interval
// ends), and the finished line arrives as one event.
//
// The emit function is called with the splitter's lock held, from Write,
// Close, or the progress timer; the events it gets have no Host, and only
// progress events have a Time (when the rate limit let them out).
type LineSplitter struct {
	kind EventKind
	opts SplitOptions
	emit func(Event)

	mu       sync.Mutex
	pending  []byte // the open line's raw bytes
	firstCR  int    // index of pending's first '\r', or -1
	pieced   bool   // part of the open line went out as a piece
	slab     []byte // Raw copies are carved from here
	scratch  []byte // display text being built on the slow path
	lastProg time.Time
	timer    *time.Timer
	timerTok *byte // identifies the armed timer, so a stopped one that fires anyway does nothing
	gen      int   // bumped when the open line ends, to disarm a stale timer
	closed   bool
}

// NewLineSplitter returns a splitter that sends events of the given kind to
// emit.
func NewLineSplitter(kind EventKind, opts SplitOptions, emit func(Event)) *LineSplitter {
	return &LineSplitter{kind: kind, opts: opts.withDefaults(), emit: emit, firstCR: -1}
}

// Write splits p into lines. It always consumes all of p unless the
// splitter is closed.
func (s *LineSplitter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, ErrSplitterClosed
	}
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			s.appendOpen(p, true)
			break
		}
		line := p[:i+1]
		p = p[i+1:]
		if len(s.pending) == 0 && !s.pieced && len(line) <= s.opts.MaxRawLen+1 {
			s.emitLine(line, false) // the common case: no copy into pending
			continue
		}
		s.appendOpen(line[:len(line)-1], false)
		s.pending = append(s.pending, '\n')
		s.endOpen(false)
	}
	return n, nil
}

// Close flushes the last line if it has no newline and stops the progress
// timer. Writes after Close fail; Close itself is idempotent.
func (s *LineSplitter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	if len(s.pending) > 0 {
		s.endOpen(false)
	}
	s.stopTimer()
	s.closed = true
	return nil
}

// appendOpen adds bytes without a newline to the open line, sending a
// piece whenever it reaches MaxRawLen and, when report is set, a progress
// update if the line holds a carriage return.
func (s *LineSplitter) appendOpen(p []byte, report bool) {
	for len(p) > 0 {
		if len(s.pending) >= s.opts.MaxRawLen {
			s.endOpen(true) // cut only when more of the line follows
		}
		room := s.opts.MaxRawLen - len(s.pending)
		chunk := p[:min(room, len(p))]
		p = p[len(chunk):]
		if i := bytes.IndexByte(chunk, '\r'); s.firstCR < 0 && i >= 0 {
			s.firstCR = len(s.pending) + i
		}
		s.pending = append(s.pending, chunk...)
	}
	// A '\r' at the very end may be the first half of a CRLF.
	if report && s.firstCR >= 0 && s.firstCR < len(s.pending)-1 {
		s.progress()
	}
}

// endOpen sends the open line (or, for a piece, the part of it held so far)
// and starts a new one (or the line's next piece).
func (s *LineSplitter) endOpen(piece bool) {
	s.emitLine(s.pending, piece || s.pieced)
	s.pieced = piece
	s.pending = s.pending[:0]
	if cap(s.pending) > slabSize && !piece {
		s.pending = nil // do not keep a huge line's buffer around
	}
	s.firstCR = -1
	s.gen++
	s.stopTimer()
}

// emitLine sends one line event for raw.
func (s *LineSplitter) emitLine(raw []byte, piece bool) {
	text, cut := s.display(raw)
	s.emit(Event{Kind: s.kind, Line: text, Raw: s.copyRaw(raw), Truncated: cut || piece})
}

// progress sends the open line's latest text, or arms the timer that will.
func (s *LineSplitter) progress() {
	wait := s.opts.ProgressInterval - time.Since(s.lastProg)
	if wait <= 0 {
		s.stopTimer()
		s.sendProgress()
		return
	}
	if s.timer == nil {
		gen, tok := s.gen, new(byte)
		s.timerTok = tok
		s.timer = time.AfterFunc(wait, func() { s.timerFired(gen, tok) })
	}
}

// timerFired sends the progress the timer was armed for, unless the line
// ended or the timer was stopped meanwhile: a timer that fires while a
// write holds the lock and sends the progress itself must not send again.
func (s *LineSplitter) timerFired(gen int, tok *byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if gen != s.gen || tok != s.timerTok {
		return // a stale timer
	}
	s.timer, s.timerTok = nil, nil
	if !s.closed && len(s.pending) > 0 {
		s.sendProgress()
	}
}

func (s *LineSplitter) sendProgress() {
	s.lastProg = time.Now()
	text, cut := s.display(s.pending)
	// Stamped here, where the rate is decided, not later by a busy emitter.
	s.emit(Event{Kind: EventProgress, Time: s.lastProg, Line: text, Truncated: cut})
}

func (s *LineSplitter) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.timerTok = nil
}

// copyRaw returns a private copy of b, carved from a shared slab when small.
// The copy's capacity ends with it, so appending to it cannot clobber a
// neighbour.
func (s *LineSplitter) copyRaw(b []byte) []byte {
	if len(b) > slabSize/8 {
		return bytes.Clone(b)
	}
	if len(s.slab)+len(b) > cap(s.slab) {
		s.slab = make([]byte, 0, min(max(2*cap(s.slab), minSlab, len(b)), slabSize))
	}
	off := len(s.slab)
	s.slab = append(s.slab, b...)
	return s.slab[off:len(s.slab):len(s.slab)]
}

// display returns the display text of a raw line and whether it was cut.
func (s *LineSplitter) display(raw []byte) (string, bool) {
	b := raw
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	limit := s.opts.MaxLineLen
	if len(b) <= limit && printable(b) {
		return string(b), false // the common case: one scan, one allocation
	}
	if bytes.IndexByte(b, '\r') >= 0 {
		b = lastPart(b)
	}
	if printable(b[:min(len(b), limit)]) {
		if len(b) > limit {
			return string(b[:limit]), true
		}
		return string(b), false
	}
	var cut bool
	s.scratch, cut = appendVisible(s.scratch[:0], b, limit)
	return string(s.scratch), cut
}

// lastPart returns the last non-empty part of b between carriage returns:
// what a terminal shows once the line is done being rewritten.
func lastPart(b []byte) []byte {
	end := len(b)
	for end > 0 && b[end-1] == '\r' {
		end--
	}
	return b[bytes.LastIndexByte(b[:end], '\r')+1 : end]
}

// printable reports whether b is printable ASCII and tabs only.
func printable(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

// appendVisible appends to dst the display form of b, at most limit bytes of
// it: runs of invalid UTF-8 become one U+FFFD (as strings.ToValidUTF8 does),
// C0 controls but tab and DEL become their Control Pictures, and C1
// controls (which some terminals obey) become U+FFFD. It reports whether b
// did not fit.
func appendVisible(dst, b []byte, limit int) ([]byte, bool) {
	start := len(dst)
	invalid := false
	for len(b) > 0 {
		if c := b[0]; c >= 0x20 && c < 0x7f || c == '\t' { // printable ASCII: no decoding
			if len(dst)-start >= limit {
				return dst, true
			}
			dst = append(dst, c)
			b = b[1:]
			invalid = false
			continue
		}
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size == 1:
			if invalid {
				b = b[1:]
				continue
			}
		case r < 0x20:
			r = 0x2400 + r
		case r == 0x7f:
			r = 0x2421
		case r >= 0x80 && r < 0xa0:
			r = utf8.RuneError
		}
		invalid = size == 1 && r == utf8.RuneError
		if len(dst)-start+utf8.RuneLen(r) > limit {
			return dst, true
		}
		dst = utf8.AppendRune(dst, r)
		b = b[size:]
	}
	return dst, false
}
