package logs

import (
	"fmt"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// A file read through sudo (its role's logs_sudo: true) is read with one
// of the exact commands of inventory.SudoTailCommands, never with the
// descriptor and offset scripts of an ordinary file: a sudoers line allows
// literal words only. The follow is `tail -n 1000 -F FILE` as root; opsui
// keeps of its first lines the ones it wants. Where they end is known from
// the file's size, stat'ed as the deploy user just before (the directory
// of a root-owned log is searchable; its content is not): the first lines
// are the file's last ones while there are fewer than 1000 of them and
// they do not go past that size. A resume after a drop shows those of the
// last 1000 lines that start at or after the offset already shown, and
// says so when more was written meanwhile than 1000 lines hold. tail's
// own messages come on stderr, apart from the file's lines (tail cannot be
// given the nonce-tagged name: it is not the name the sudoers line
// allows).

// sudoCheck is the start of a sudo script: without sudo, or without the
// right to run cmd, it prints the refusal marker with the user's name and
// fails at once (sudo -n: no password prompt to hang on).
func sudoCheck(nonce string, cmd []string) string {
	words := make([]string, len(cmd))
	for i, w := range cmd {
		words[i] = remote.Quote(w)
	}
	deny := func(why string) string {
		return fmt.Sprintf(`printf '%s%s-refused %%s %s\n' "$(id -un)"; exit 1`, markerPrefix, nonce, why)
	}
	return `if ! command -v sudo >/dev/null 2>&1; then ` + deny("nosudo") + `; fi` + "\n" +
		`if ! sudo -n -l -- ` + strings.Join(words, " ") + ` >/dev/null 2>&1; then ` + deny("denied") + `; fi` + "\n" +
		`exec sudo -n -- ` + strings.Join(words, " ")
}

// sudoFollowScript is the remote command of a follow through sudo: the
// file's identity and size as the marker, then the sudo'd tail -F.
func sudoFollowScript(path, nonce string) string {
	follow, _ := inventory.SudoTailCommands(path)
	return strings.Join([]string{
		"LC_ALL=C; export LC_ALL",
		"f=" + remote.Quote(path),
		`i=$(stat -L -c %d:%i -- "$f" 2>/dev/null); s=$(stat -L -c %s -- "$f" 2>/dev/null)`,
		fmt.Sprintf(`printf '%s%s %%s %%s %%s sudo\n' "${i:--}" "${s:--}" "${s:--}"`, markerPrefix, nonce),
		sudoCheck(nonce, follow),
	}, "\n")
}

// sudoReadScript is the remote command of a one-off read through sudo.
func sudoReadScript(path, nonce string) string {
	_, read := inventory.SudoTailCommands(path)
	return "LC_ALL=C; export LC_ALL\n" + sudoCheck(nonce, read)
}

// parseRefused parses the refusal marker: the user and why (denied,
// nosudo).
func parseRefused(text, nonce string) (user, why string, ok bool) {
	rest, ok := strings.CutPrefix(text, markerPrefix+nonce+"-refused ")
	if !ok {
		return "", "", false
	}
	user, why, _ = strings.Cut(rest, " ")
	return user, why, true
}

// SudoRefusal is the error of a file that needs sudo where the deploy user
// may not run the command: it names the exact sudoers line.
type SudoRefusal struct {
	Host, User, File string
	Command          []string
	NoSudo           bool // sudo is not installed
}

func (e *SudoRefusal) Error() string { return e.Host + ": " + e.Reason() }

// Reason is the error without the host's name.
func (e *SudoRefusal) Reason() string {
	if e.NoSudo {
		return fmt.Sprintf("%s is read through sudo (logs_sudo: true), but sudo is not installed on the host", e.File)
	}
	line := inventory.SudoRule{User: e.User, Command: e.Command}.Line()
	return fmt.Sprintf("%s may not read %s: sudo -n refused %s; allow it with this sudoers line (opsui setup --print-sudoers lists them all): %s",
		e.User, e.File, strings.Join(e.Command, " "), line)
}

// heldLine is a line of a sudo follow's first lines, held until it is
// known where they end.
type heldLine struct {
	l Line
	n int64
}

// sudoStream reads one connection's output of a sudo follow script.
type sudoStream struct {
	f      *follower
	nonce  string
	resume bool
	down   time.Time

	marked  bool
	refusal *SudoRefusal
	size    int64 // the file's size when the follow started; -1 unknown
	id      string
	first   bool // reading tail's first lines
	held    []heldLine
	heldN   int64
}

func newSudoStream(f *follower, down time.Time) *sudoStream {
	return &sudoStream{f: f, nonce: nonce(), resume: f.started, down: down, size: -1}
}

func (s *sudoStream) command() string { return sudoFollowScript(s.f.path, s.nonce) }
func (s *sudoStream) running() bool   { return s.marked }

func (s *sudoStream) refused() error {
	if s.refusal == nil {
		return nil
	}
	return s.refusal
}

func (s *sudoStream) event(ev remote.Event) {
	switch ev.Kind {
	case remote.EventStdout:
		s.stdout(ev.Line, int64(len(ev.Raw)), ev.Time)
	case remote.EventStderr:
		s.stderr(ev.Line, ev.Time)
	}
}

func (s *sudoStream) stdout(text string, n int64, at time.Time) {
	f := s.f
	if !s.marked {
		if m, ok := parseMarker(text, s.nonce); ok {
			s.marked, s.first = true, true
			s.id, s.size = m.id, m.size
			if m.pos < 0 {
				s.size = -1
			}
			return
		}
		s.send(Line{Text: text, Time: at, Backlog: true, Kind: kindOf(s.resume)})
		return
	}
	if user, why, ok := parseRefused(text, s.nonce); ok {
		follow, _ := inventory.SudoTailCommands(f.path)
		s.refusal = &SudoRefusal{Host: f.target.Name, User: user, File: f.path, Command: follow, NoSudo: why == "nosudo"}
		s.first = false
		return
	}
	if s.first {
		if s.size >= 0 && len(s.held) < inventory.SudoTailLines && s.heldN+n <= s.size {
			s.held = append(s.held, heldLine{Line{Text: text, Time: at, Backlog: true}, n})
			s.heldN += n
			if len(s.held) == inventory.SudoTailLines || s.heldN == s.size {
				s.endFirst(at)
			}
			return
		}
		s.endFirst(at)
	}
	if f.off >= 0 {
		f.off += n
	}
	s.send(Line{Text: text, Time: at})
}

// stderr takes tail's messages (and sudo's): a file replaced or truncated
// is now read from its start.
func (s *sudoStream) stderr(text string, at time.Time) {
	if !s.marked {
		s.send(Line{Text: text, Time: at, Kind: KindNotice})
		return
	}
	if !strings.HasPrefix(text, "tail: ") || !(strings.HasSuffix(text, "following new file") || strings.HasSuffix(text, "file truncated")) {
		s.send(Line{Text: text, Time: at, Kind: KindNotice}) // sudo's warnings too: they say nothing of the file's lines
		return
	}
	if s.first {
		s.endFirst(at)
	}
	s.f.id, s.f.off = "?", 0
	s.send(Line{Text: text, Time: at, Kind: KindRotated})
}

// endFirst decides which of the held first lines to show, now that they
// are all in.
func (s *sudoStream) endFirst(at time.Time) {
	f := s.f
	s.first = false
	held := s.held
	s.held = nil
	if s.size < 0 { // where the first lines end is unknown: show them all
		if !s.resume {
			f.started = true
		}
		f.id, f.off = s.id, -1
		s.send(Line{Time: at, Kind: KindNotice, Text: "the file's size could not be read as " + f.target.User +
			" (its directory is not searchable): its last lines and new ones are shown together, and a reconnect shows new lines only"})
		for _, h := range held {
			s.send(h.l)
		}
		return
	}
	// Fewer lines than asked for are the whole file; else they end at size.
	end := s.size
	if len(held) < inventory.SudoTailLines {
		end = s.heldN
	}
	start := end - s.heldN
	if !s.resume {
		f.started = true
		f.id, f.off = s.id, end
		for _, h := range held[max(0, len(held)-f.opts.SinceLines):] {
			s.send(h.l)
		}
		return
	}
	from, reason := int64(0), "same" // where the lines to show start
	switch {
	case s.id == "-":
		from, reason = end, "absent"
	case f.off < 0:
		from, reason = end, "unknown"
	case f.id != "?" && s.id != f.id:
		reason = "replaced"
	case s.size < f.off:
		reason = "truncated"
	default:
		from = f.off
	}
	var text string
	switch {
	case end-from > f.opts.CatchUpLimit:
		from, reason = end-f.opts.CatchUpLimit, reason+"-capped"
		text = marker{id: s.id, pos: from, size: end, reason: reason}.describe()
	case from < start: // more was written meanwhile than the lines sudo's tail reads
		text = marker{id: s.id, pos: from, size: end, reason: reason}.describe() +
			fmt.Sprintf("; more than the %d lines read through sudo, so only those (%s) are shown", inventory.SudoTailLines, bytesText(end-start))
		from = start
	default:
		text = marker{id: s.id, pos: from, size: end, reason: reason}.describe()
	}
	f.id, f.off = s.id, end
	if !s.down.IsZero() {
		text += fmt.Sprintf(" (down %s)", at.Sub(s.down).Round(100*time.Millisecond))
	}
	s.send(Line{Text: text, Time: at, Kind: KindReconnected})
	pos := start
	for _, h := range held {
		if pos >= from {
			s.send(h.l)
		}
		pos += h.n
	}
}

func (s *sudoStream) send(l Line) { s.f.send(l) }

// finish shows first lines still held when the stream ends.
func (s *sudoStream) finish() {
	if s.first && len(s.held) > 0 {
		s.endFirst(time.Now())
	}
}

// sudoRead keeps the last n lines of a one-off read through sudo, which
// always reads inventory.SudoTailLines.
type sudoRead struct {
	host, path, nonce string
	n                 int
	lines             []Line
	refusal           *SudoRefusal
}

func (r *sudoRead) line(ev remote.Event) {
	if user, why, ok := parseRefused(ev.Line, r.nonce); ok {
		_, read := inventory.SudoTailCommands(r.path)
		r.refusal = &SudoRefusal{Host: r.host, User: user, File: r.path, Command: read, NoSudo: why == "nosudo"}
		return
	}
	r.lines = append(r.lines, Line{Host: r.host, File: r.path, Time: ev.Time, Text: ev.Line, Backlog: true, Level: DetectLevel(ev.Line)})
}

func (r *sudoRead) flush(emit func(Line)) {
	for _, l := range r.lines[max(0, len(r.lines)-r.n):] {
		emit(l)
	}
	r.lines = nil
}
