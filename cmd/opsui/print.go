package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/mattn/go-isatty"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

// The headless commands' printers: a run's events as host-prefixed lines
// or JSON objects, and its summary. The console draws runs itself (ui).

// colorFor returns the theme for w: coloured on a terminal unless NO_COLOR.
func colorFor(w io.Writer) themes.Theme {
	th := themes.Dark()
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) || themes.NoColor(os.Getenv) {
		return th.WithoutColor()
	}
	return th
}

func newEventPrinter(w io.Writer, hosts []string, asJSON bool, th themes.Theme) eventPrinter {
	if asJSON {
		return newJSONPrinter(w)
	}
	return newLinePrinter(w, hosts, th)
}

// eventPrinter writes a run's events and its summary.
type eventPrinter interface {
	Event(remote.Event)
	Summary(res remote.Result, runID int64)
	Flush()
}

// linePrinter writes a run for a plain terminal or a pipe: every line
// prefixed with its host (coloured by host when the theme has colour), and a
// summary that lists failures first. It is safe for concurrent use, as
// remote.Run's emit must be.
type linePrinter struct {
	mu      sync.Mutex
	w       *bufio.Writer
	width   int
	th      themes.Theme
	prefix  map[string]string
	lastOut map[string][]string // last lines per host, for the failure summary
	// stage is a pipeline host's step, failedAt the step it first failed
	// at: a failure is said against it, not against the rollback after.
	stage, failedAt map[string]string
	flushed         time.Time
}

// lastLines is how many lines of a failed host the summary repeats.
const lastLines = 3

// newLinePrinter prints to w for the given hosts.
func newLinePrinter(w io.Writer, hosts []string, th themes.Theme) *linePrinter {
	width := 0
	for _, h := range hosts {
		width = max(width, lipgloss.Width(h))
	}
	p := &linePrinter{w: bufio.NewWriterSize(w, 64<<10), width: width, th: th,
		prefix: map[string]string{}, lastOut: map[string][]string{}, stage: map[string]string{}, failedAt: map[string]string{}}
	for _, h := range hosts {
		label := fmt.Sprintf("%-*s |", width, h)
		if !th.Plain {
			label = lipgloss.NewStyle().Foreground(th.HostColor(h)).Render(label)
		}
		p.prefix[h] = label
	}
	return p
}

// Event prints output lines and host failures as they happen.
func (p *linePrinter) Event(ev remote.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Kind {
	case remote.EventStdout, remote.EventStderr:
		line := ev.Line
		if ev.Truncated {
			line += " [truncated]"
		}
		fmt.Fprintf(p.w, "%s %s\n", p.prefix[ev.Host], line)
		last := append(p.lastOut[ev.Host], line)
		if len(last) > lastLines {
			last = last[len(last)-lastLines:]
		}
		p.lastOut[ev.Host] = last
	case remote.EventStage:
		p.stage[ev.Host] = ev.Line
		fmt.Fprintf(p.w, "%s %s\n", p.prefix[ev.Host], p.paint(p.th.Accent, "== "+stageLabel(ev)))
	case remote.EventFailed:
		fmt.Fprintf(p.w, "%s %s\n", p.prefix[ev.Host], p.paint(p.th.Error, p.failure(ev)))
	case remote.EventExited:
		if _, ok := p.stage[ev.Host]; ok && ev.Code != 0 {
			fmt.Fprintf(p.w, "%s %s\n", p.prefix[ev.Host], p.paint(p.th.Error, p.failure(ev)))
		}
	}
	// Flush often enough to feel live, rarely enough for 100 000 lines.
	if now := time.Now(); now.Sub(p.flushed) > 50*time.Millisecond || ev.Kind == remote.EventFailed {
		p.w.Flush()
		p.flushed = now
	}
}

// failure is a host's failure event in words: a pipeline's against the
// step it first failed at (deploy.HostWords), a command's with its class.
func (p *linePrinter) failure(ev remote.Event) string {
	stage, pipeline := p.stage[ev.Host]
	if !pipeline {
		if w := classWords(ev.Class, ev.Err); w != string(remote.ClassCancelled) {
			return "failed: " + w
		}
		return string(remote.ClassCancelled)
	}
	if at, ok := p.failedAt[ev.Host]; ok {
		stage = at
	} else {
		p.failedAt[ev.Host] = stage
	}
	status, err := store.HostFailed, ""
	if ev.Class == remote.ClassCancelled {
		status = store.HostCancelled
	}
	if ev.Err != nil {
		err = remote.HostCause(ev.Err).Error()
	}
	return deploy.HostWordsClass(status, stage, ev.Class, err)
}

// classWords is a command's failure: its class and cause, the cause
// alone when it says the class already, and a cancellation without the
// engine's "context canceled".
func classWords(class remote.ErrorClass, err error) string {
	cause := ""
	if err != nil {
		cause = remote.HostCause(err).Error()
	}
	switch {
	case class == remote.ClassCancelled && (cause == "" || strings.Contains(cause, "context canceled") || cause == string(class)):
		return "cancelled"
	case cause == "", cause == string(class):
		return string(class)
	case strings.HasPrefix(cause, string(class)):
		return cause
	}
	return string(class) + ": " + cause
}

// stageLabel is a stage event's step as "n/m name", or its name alone
// when it is not one of the plan's numbered steps.
func stageLabel(ev remote.Event) string {
	if ev.Step > 0 && ev.Steps > 0 {
		return fmt.Sprintf("%d/%d %s", ev.Step, ev.Steps, ev.Line)
	}
	return ev.Line
}

// Summary prints failures first, with their last lines, then the totals.
func (p *linePrinter) Summary(res remote.Result, runID int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var failed []remote.HostResult
	for _, h := range res.Hosts {
		if h.Status != remote.StatusOK {
			failed = append(failed, h)
		}
	}
	if len(failed) > 0 {
		fmt.Fprintf(p.w, "\n%s\n", p.paint(p.th.Error, fmt.Sprintf("%d of %s did not succeed:", len(failed), deploy.Plural(len(res.Hosts), "host", "hosts"))))
		for _, h := range failed {
			why := classWords(h.Class, h.Err)
			if h.Class == remote.ClassExit {
				why = fmt.Sprintf("exit %d", h.Code)
			}
			fmt.Fprintf(p.w, "  %-*s  %s\n", p.width, h.Host, why)
			for _, l := range p.lastOut[h.Host] {
				fmt.Fprintf(p.w, "  %-*s    %s\n", p.width, "", p.paint(p.th.Muted, l))
			}
		}
	}
	fmt.Fprintf(p.w, "\n%s (%s, run %d)\n", res.Summary(), res.Duration.Round(time.Millisecond), runID)
	p.w.Flush()
}

// Flush writes out what Event buffered; a pipeline that prints its own
// summary calls it first.
func (p *linePrinter) Flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w.Flush()
}

func (p *linePrinter) paint(c color.Color, s string) string {
	if p.th.Plain {
		return s
	}
	return lipgloss.NewStyle().Foreground(c).Render(s)
}

// jsonPrinter writes one JSON object per event, then the result: for scripts.
type jsonPrinter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// newJSONPrinter prints to w.
// writeJSON writes v as indented JSON: the --json of a listing.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newJSONPrinter(w io.Writer) *jsonPrinter { return &jsonPrinter{enc: json.NewEncoder(w)} }

type jsonEvent struct {
	Host       string `json:"host"`
	Event      string `json:"event"`
	Time       string `json:"time"`
	Line       string `json:"line,omitempty"`
	Truncated  bool   `json:"truncated,omitempty"`
	Code       *int   `json:"exit_code,omitempty"`
	DurationMS int64  `json:"duration_ms,omitempty"`
	Class      string `json:"class,omitempty"`
	Error      string `json:"error,omitempty"`
	Step       int    `json:"step,omitempty"`
	Steps      int    `json:"steps,omitempty"`
}

// Event writes one event.
func (p *jsonPrinter) Event(ev remote.Event) {
	if ev.Kind == remote.EventProgress {
		return
	}
	je := jsonEvent{Host: ev.Host, Event: ev.Kind.String(), Time: ev.Time.UTC().Format(time.RFC3339Nano),
		Line: ev.Line, Truncated: ev.Truncated, Class: string(ev.Class), DurationMS: ev.Duration.Milliseconds(),
		Step: ev.Step, Steps: ev.Steps}
	if ev.Kind == remote.EventExited {
		code := ev.Code
		je.Code = &code
	}
	if ev.Err != nil {
		je.Error = remote.HostCause(ev.Err).Error()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enc.Encode(je)
}

// Flush does nothing: every event is written as it comes.
func (p *jsonPrinter) Flush() {}

// Summary writes the result object.
func (p *jsonPrinter) Summary(res remote.Result, runID int64) {
	type host struct {
		Host       string `json:"host"`
		Status     string `json:"status"`
		Code       int    `json:"exit_code"`
		DurationMS int64  `json:"duration_ms"`
		Class      string `json:"class,omitempty"`
		Error      string `json:"error,omitempty"`
	}
	out := struct {
		Event   string `json:"event"`
		RunID   int64  `json:"run_id"`
		OK      int    `json:"ok"`
		Failed  int    `json:"failed"`
		Summary string `json:"summary"`
		Hosts   []host `json:"hosts"`
	}{Event: "result", RunID: runID, OK: res.OK, Failed: len(res.Hosts) - res.OK, Summary: res.Summary()}
	for _, h := range res.Hosts {
		e := ""
		if h.Err != nil {
			e = remote.HostCause(h.Err).Error()
		}
		out.Hosts = append(out.Hosts, host{h.Host, string(h.Status), h.Code, h.Duration.Milliseconds(), string(h.Class), e})
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.enc.Encode(out)
}
