package logs

import (
	"regexp"
	"slices"
	"strings"
	"time"
)

// tracebackHead starts a Python traceback.
const tracebackHead = "Traceback (most recent call last):"

// maxTracebackLines bounds a traceback being collected: a stream that
// never ends one does not grow without bound.
const maxTracebackLines = 500

// Group is one error, as many times as it was seen on any host.
type Group struct {
	Key       string // what identical occurrences share
	Traceback bool   // a Python traceback, collapsed to its last frame and exception
	// Summary is the text shown for the group: the error line with its
	// timestamp removed, or a traceback's exception line.
	Summary string
	// Frame is a traceback's last frame ("File ..., line N, in f" and its
	// source line).
	Frame     string
	Count     int
	Hosts     []string // sorted
	FirstSeen time.Time
	LastSeen  time.Time
	// Example is one occurrence as it appeared (a traceback's every line).
	Example []string
	// FirstHost is where the earliest occurrence was; FirstBacklog says
	// it was already in the file when the follow started (written then
	// or before).
	FirstHost    string
	FirstBacklog bool
}

// Aggregator groups the error lines and Python tracebacks of many hosts'
// streams. It is not safe for concurrent use; Buffer guards it.
type Aggregator struct {
	groups  map[string]*Group
	streams map[streamKey]*traceState
	// MaxGroups bounds the number of groups kept (the least seen go
	// first); 0 means 1000.
	MaxGroups int
}

type streamKey struct{ host, file string }

// traceState is a traceback being collected on one stream.
type traceState struct {
	lines   []string
	at      time.Time
	backlog bool
}

// NewAggregator returns an empty aggregator.
func NewAggregator() *Aggregator {
	return &Aggregator{groups: map[string]*Group{}, streams: map[streamKey]*traceState{}}
}

// Add takes the next line of its host's file. Lines of one file must come
// in order; files and hosts may interleave.
func (a *Aggregator) Add(l Line) {
	if l.Kind != KindLine {
		return
	}
	k := streamKey{l.Host, l.File}
	if ts := a.streams[k]; ts != nil {
		if isTraceContinuation(l.Text) && len(ts.lines) < maxTracebackLines {
			ts.lines = append(ts.lines, l.Text)
			return
		}
		delete(a.streams, k)
		if strings.TrimSpace(l.Text) != "" && !strings.Contains(l.Text, tracebackHead) {
			// The first line that is not indented is the exception.
			ts.lines = append(ts.lines, l.Text)
			a.addTraceback(l.Host, ts)
			return
		}
		a.addTraceback(l.Host, ts) // cut short: keep what came
	}
	if strings.Contains(l.Text, tracebackHead) {
		a.streams[k] = &traceState{lines: []string{l.Text}, at: l.Time, backlog: l.Backlog}
		return
	}
	if l.Level >= LevelError {
		key, summary := errorKey(l.Text)
		a.add(key, l.Host, l.Time, l.Backlog, func(g *Group) {
			g.Summary = summary
			g.Example = []string{l.Text}
		})
	}
}

// isTraceContinuation reports whether a line goes on a traceback: indented
// frame lines, and the lines that chain one traceback to the next.
func isTraceContinuation(s string) bool {
	return strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\t") || s == "" ||
		strings.HasPrefix(s, "During handling of the above exception") ||
		strings.HasPrefix(s, "The above exception was the direct cause")
}

func (a *Aggregator) addTraceback(host string, ts *traceState) {
	frame, exc := collapseTraceback(ts.lines)
	key := "tb\x00" + frame + "\x00" + exc
	a.add(key, host, ts.at, ts.backlog, func(g *Group) {
		g.Traceback = true
		g.Summary, g.Frame = exc, frame
		g.Example = ts.lines
	})
}

// collapseTraceback returns a traceback's last frame (its File line and
// the source line under it) and its exception line.
func collapseTraceback(lines []string) (frame, exc string) {
	last := len(lines) - 1
	if last > 0 && !isTraceContinuation(lines[last]) {
		exc = strings.TrimSpace(lines[last])
	} else {
		exc = "(traceback cut short)"
	}
	for i := last; i >= 0; i-- {
		t := strings.TrimSpace(lines[i])
		if strings.HasPrefix(t, "File ") {
			frame = t
			if i+1 < len(lines) && i+1 < last {
				if src := strings.TrimSpace(lines[i+1]); src != "" && !strings.HasPrefix(src, "File ") {
					frame += ": " + src
				}
			}
			break
		}
	}
	return frame, exc
}

func (a *Aggregator) add(key, host string, at time.Time, backlog bool, init func(*Group)) {
	g := a.groups[key]
	if g == nil {
		a.evict()
		g = &Group{Key: key, FirstSeen: at, FirstHost: host, FirstBacklog: backlog}
		init(g)
		a.groups[key] = g
	}
	g.Count++
	if at.Before(g.FirstSeen) {
		g.FirstSeen, g.FirstHost, g.FirstBacklog = at, host, backlog
	}
	if at.After(g.LastSeen) {
		g.LastSeen = at
	}
	if i, found := slices.BinarySearch(g.Hosts, host); !found {
		g.Hosts = slices.Insert(g.Hosts, i, host)
	}
}

// evict makes room for one more group by dropping the least seen ones.
func (a *Aggregator) evict() {
	limit := a.MaxGroups
	if limit <= 0 {
		limit = 1000
	}
	if len(a.groups) < limit {
		return
	}
	gs := a.Top(0)
	for _, g := range gs[limit*9/10:] {
		delete(a.groups, g.Key)
	}
}

// Top returns the n groups seen most (all when n <= 0), most first; ties
// go to the most recently seen. The groups are copies.
func (a *Aggregator) Top(n int) []Group {
	out := make([]Group, 0, len(a.groups))
	for _, g := range a.groups {
		c := *g
		c.Hosts = slices.Clone(g.Hosts)
		out = append(out, c)
	}
	slices.SortFunc(out, func(x, y Group) int {
		if x.Count != y.Count {
			return y.Count - x.Count
		}
		if c := y.LastSeen.Compare(x.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(x.Key, y.Key)
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// Len returns the number of groups.
func (a *Aggregator) Len() int { return len(a.groups) }

var (
	// leadingStamp is a timestamp, log-level tag or process id in front of
	// a log line: what differs between occurrences of the same error (nginx:
	// "2026/12/05 05:55:12 [error] 15273#15273: *19 connect() failed").
	leadingStamp = regexp.MustCompile(`^(?:\s*(?:\[[^\]]*\d[^\]]*\]|\[(?i:emerg|alert|crit|critical|error|warn|warning|notice|info|debug)\]|\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|\s?[+-]\d{2}:?\d{2})?|[A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}|\d+#\d+:|\*\d+))+\s*`)
	// accessRequest is the request and status of an access-log line.
	accessRequest = regexp.MustCompile(`"([A-Z]+ [^"? ]*)[^"]*" ([1-5][0-9]{2}) `)
)

// errorKey returns the grouping key and display text of an error line:
// an access-log line groups by request path and status, another line by
// its text without the leading timestamp and process id.
func errorKey(text string) (key, summary string) {
	if m := accessRequest.FindStringSubmatch(text); m != nil {
		s := m[2] + " " + m[1]
		return "http\x00" + s, s
	}
	s := strings.TrimSpace(leadingStamp.ReplaceAllString(text, ""))
	if s == "" {
		s = strings.TrimSpace(text)
	}
	return "line\x00" + s, s
}

// Flush ends every traceback still being collected (at the end of a
// recording, say) so that it counts.
func (a *Aggregator) Flush() {
	for k, ts := range a.streams {
		delete(a.streams, k)
		a.addTraceback(k.host, ts)
	}
}
