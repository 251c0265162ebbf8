// Package logs follows log files on many hosts at once over the engine's
// pooled SSH connections (tail -F semantics: rotation is followed), marks
// hosts that drop and resume them without silent loss, classifies lines by
// level, filters them, and groups identical errors and Python tracebacks
// across hosts. It knows nothing of the UI: lines go to an emit function,
// and a Buffer keeps them in bounded rings for whoever displays them.
package logs

import "time"

// Kind says what a Line is: a line of a file, or a marker the follower put
// in the stream.
type Kind int

// Line kinds.
const (
	KindLine        Kind = iota // a line of the file
	KindDropped                 // the host's connection was lost; Text says why and when the next try is
	KindReconnected             // the follow resumed; Text says what was caught up or could not be
	KindRotated                 // tail followed a new file under the same name, or the file was truncated
	KindNotice                  // anything else tail said (file missing, appeared ...)
)

func (k Kind) String() string {
	return [...]string{"line", "dropped", "reconnected", "rotated", "notice"}[k]
}

// IsMarker reports whether a line of this kind is a marker rather than a
// line of a file.
func (k Kind) IsMarker() bool { return k != KindLine }

// Line is one line of one file of one host, or a marker about that file.
type Line struct {
	Host  string
	File  string    // the path as given to Tail
	Time  time.Time // when the line arrived
	Text  string    // display text (valid UTF-8, no control characters)
	Kind  Kind
	Level Level
	// Backlog is set on lines that were already in the file when the
	// follow (re)started: the initial last N lines, and lines caught up
	// after a reconnect.
	Backlog bool
}
