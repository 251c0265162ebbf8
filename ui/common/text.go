package common

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// Clip cuts s to at most w cells, marking the cut with an ellipsis.
func Clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if Width(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && Width(string(r))+1 > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

// WrapIndented breaks s into lines of at most w cells at spaces (a word
// longer than a line is cut), each continuation indented as s is plus two
// cells: for plan lines whose end (a release id, a table name) must stay
// on the screen at 80 columns.
func WrapIndented(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	if Width(s) <= w {
		return []string{s}
	}
	indent := strings.Repeat(" ", len(s)-len(strings.TrimLeft(s, " "))+2)
	if len(indent) >= w/2 {
		indent = ""
	}
	first := strings.Split(ansi.Wrap(s, w, ""), "\n")
	out := []string{first[0]}
	rest := strings.TrimSpace(strings.Join(first[1:], " "))
	for _, l := range strings.Split(ansi.Wrap(rest, w-len(indent), ""), "\n") {
		out = append(out, indent+l)
	}
	return out
}

// ClipStyled cuts a styled line to w cells, keeping its escape codes.
func ClipStyled(s string, w int) string {
	if Width(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// PadRight pads s with spaces to w cells.
func PadRight(s string, w int) string {
	if n := Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// Elapsed writes a run's or a host's time: 850ms, 12.3s, 2m05s.
func Elapsed(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
