package logs

import (
	"fmt"
	"regexp"
	"strings"
)

// Level is the severity a line shows.
type Level int

// Levels, least severe first.
const (
	LevelNone Level = iota
	LevelWarning
	LevelError    // ERROR, a 5xx status in an access-log line, and every line of a traceback
	LevelCritical // CRITICAL, FATAL, PANIC
)

func (l Level) String() string {
	return [...]string{"", "warning", "error", "critical"}[l]
}

var (
	// levelWord finds a level word standing alone (not inside a longer
	// word such as "errors_total" or "TERRORIST").
	levelWord = regexp.MustCompile(`(?i)(?:^|[^A-Za-z0-9_])(CRITICAL|FATAL|PANIC|ERROR|ERR|EMERG|ALERT|CRIT|WARNING|WARN)(?:[^A-Za-z0-9_]|$)`)
	// accessStatus finds the status of a common/combined access-log line:
	// the number after the quoted request.
	accessStatus = regexp.MustCompile(`"(?:[A-Z]+ [^"]*|-)" ([1-5][0-9]{2}) `)
)

// DetectLevel returns the level a line shows: a level word (ERROR,
// WARNING, CRITICAL and their common spellings, whatever the case), the
// start of a Python traceback, or a 5xx status in an access-log line.
func DetectLevel(text string) Level {
	if strings.Contains(text, tracebackHead) {
		return LevelError
	}
	if m := accessStatus.FindStringSubmatch(text); m != nil {
		if m[1][0] == '5' {
			return LevelError
		}
		return LevelNone // "GET /error-page" is not an error
	}
	best := LevelNone
	for _, m := range levelWord.FindAllStringSubmatch(text, 3) {
		var l Level
		switch strings.ToUpper(m[1]) {
		case "CRITICAL", "FATAL", "PANIC", "EMERG", "ALERT", "CRIT":
			l = LevelCritical
		case "ERROR", "ERR":
			l = LevelError
		default:
			l = LevelWarning
		}
		best = max(best, l)
	}
	return best
}

// Filter selects lines by their text: a regular expression or a plain
// substring, both case-insensitive. The zero Filter matches everything.
type Filter struct {
	re    *regexp.Regexp
	plain string // lower-cased
	src   string
}

// NewFilter compiles pattern: as a case-insensitive regular expression
// when regex is set, else as a plain case-insensitive substring. An empty
// pattern matches everything.
func NewFilter(pattern string, regex bool) (Filter, error) {
	f := Filter{src: pattern}
	if pattern == "" {
		return f, nil
	}
	if !regex {
		f.plain = strings.ToLower(pattern)
		return f, nil
	}
	re, err := regexp.Compile("(?i)" + pattern)
	if err != nil {
		return Filter{}, fmt.Errorf("filter %q: %w", pattern, err)
	}
	f.re = re
	return f, nil
}

// Empty reports whether the filter matches everything.
func (f Filter) Empty() bool { return f.re == nil && f.plain == "" }

// String returns the pattern.
func (f Filter) String() string { return f.src }

// Match reports whether text matches.
func (f Filter) Match(text string) bool {
	switch {
	case f.re != nil:
		return f.re.MatchString(text)
	case f.plain != "":
		return containsFold(text, f.plain)
	}
	return true
}

// Matches returns the byte ranges of the matches in text, for highlighting.
func (f Filter) Matches(text string) [][2]int {
	var out [][2]int
	switch {
	case f.re != nil:
		for _, m := range f.re.FindAllStringIndex(text, -1) {
			if m[1] > m[0] {
				out = append(out, [2]int{m[0], m[1]})
			}
		}
	case f.plain != "":
		lower := strings.ToLower(text)
		if len(lower) != len(text) {
			return nil // case folding changed the length: no safe offsets
		}
		for i := 0; ; {
			j := strings.Index(lower[i:], f.plain)
			if j < 0 {
				break
			}
			out = append(out, [2]int{i + j, i + j + len(f.plain)})
			i += j + len(f.plain)
		}
	}
	return out
}

// containsFold reports whether s contains the lower-case needle, ignoring
// case, without allocating for ASCII text.
func containsFold(s, needle string) bool {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], needle) {
			return true
		}
	}
	if !isASCII(s) {
		return strings.Contains(strings.ToLower(s), needle)
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
