// Package peerbench compares opsui's fan-out with the tools people use to run
// a command on many hosts: parallel-ssh (pssh), Fabric's ThreadingGroup, a
// plain OpenSSH loop (with the default key exchange and with
// curve25519-sha256), OpenSSH through warm ControlMaster connections, and a
// bare golang.org/x/crypto/ssh loop as the floor a Go engine can reach.
//
// The comparison is BenchmarkPeers, in this package's tests: it starts a
// fleet of real sshd hosts with internal/sshtest, times `uname -n` on 10, 50
// and 200 of them and the upload of a 20 MB file to 50 of them with every
// peer, checks every answer, and prints the medians as markdown tables.
// docs/BENCHMARKS.md explains the commands and holds the figures.
//
// This file holds the small, pure helpers the benchmark uses: medians,
// answer checks and the table layout.
package peerbench

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Median returns the median of ds (the mean of the two middle values when
// their number is even), or 0 when ds is empty.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	m := len(s) / 2
	if len(s)%2 == 1 {
		return s[m]
	}
	return (s[m-1] + s[m]) / 2
}

// CheckAnswers reports whether got holds exactly one answer per name in want
// and each answer (trimmed of surrounding white space) equals want's value
// for that name. The error lists every missing, wrong and unexpected answer,
// at most a few of each, with their counts.
func CheckAnswers(want, got map[string]string) error {
	var missing, wrong, extra []string
	for _, name := range sortedKeys(want) {
		g, ok := got[name]
		switch {
		case !ok:
			missing = append(missing, name)
		case strings.TrimSpace(g) != want[name]:
			wrong = append(wrong, fmt.Sprintf("%s answered %q, want %q", name, clip(strings.TrimSpace(g), 80), want[name]))
		}
	}
	for _, name := range sortedKeys(got) {
		if _, ok := want[name]; !ok {
			extra = append(extra, name)
		}
	}
	var errs []error
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%d of %d hosts did not answer: %s", len(missing), len(want), firstFew(missing)))
	}
	if len(wrong) > 0 {
		errs = append(errs, fmt.Errorf("%d of %d hosts answered wrong: %s", len(wrong), len(want), firstFew(wrong)))
	}
	if len(extra) > 0 {
		errs = append(errs, fmt.Errorf("%d answers from unexpected hosts: %s", len(extra), firstFew(extra)))
	}
	return errors.Join(errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func firstFew(items []string) string {
	const few = 5
	if len(items) <= few {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:few], "; ") + fmt.Sprintf("; and %d more", len(items)-few)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// FormatSeconds writes d in seconds with three significant digits at most:
// "15.2 s", "3.20 s", "0.441 s", "0.0123 s".
func FormatSeconds(d time.Duration) string {
	s := d.Seconds()
	switch {
	case s >= 100:
		return fmt.Sprintf("%.0f s", s)
	case s >= 10:
		return fmt.Sprintf("%.1f s", s)
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 0.1:
		return fmt.Sprintf("%.3f s", s)
	default:
		return fmt.Sprintf("%.4f s", s)
	}
}

// Table is a markdown table: a header row, then rows of cells. The first
// column is left-aligned, the others right-aligned (they hold figures).
type Table struct {
	Header []string
	Rows   [][]string
}

// Markdown renders t as a GitHub-flavoured markdown table, columns padded so
// the source reads as a table too.
func (t Table) Markdown() string {
	width := make([]int, len(t.Header))
	for i, h := range t.Header {
		width[i] = max(utf8.RuneCountInString(h), 3)
	}
	for _, r := range t.Rows {
		for i := 0; i < len(r) && i < len(width); i++ {
			width[i] = max(width[i], utf8.RuneCountInString(r[i]))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for i := range width {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			if i == 0 {
				b.WriteString(" " + c + pad + " |")
			} else {
				b.WriteString(" " + pad + c + " |")
			}
		}
		b.WriteString("\n")
	}
	line(t.Header)
	b.WriteString("|")
	for i, w := range width {
		if i == 0 {
			b.WriteString(" " + strings.Repeat("-", w) + " |")
		} else {
			b.WriteString(" " + strings.Repeat("-", w-1) + ": |")
		}
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		line(r)
	}
	return b.String()
}

// LoadAverage returns the 1, 5 and 15 minute load averages of the machine as
// /proc/loadavg writes them ("0.12 0.30 0.41"), or "unknown" where there is
// no /proc.
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
