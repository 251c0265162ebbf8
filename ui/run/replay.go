package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Replay read limits: reading the run's record, then streaming its output
// (up to the record limit of every host: it can be gigabytes).
const (
	replayLoadTimeout   = 30 * time.Second
	replayStreamTimeout = 5 * time.Minute
)

// replayLines bounds the lines a replay keeps in all: every host's last
// paneLines, fewer each when the run had many hosts, so replaying any run
// costs the console about the same memory (200 hosts: 2 000 lines each).
const replayLines = 400_000

// replayBytes bounds what a replay reads: each host's last replayBytes/n
// bytes of output, where n is the run's hosts (a host records at most 16
// MiB by default, so a small run is read whole). Reading stops at the
// panes' rings, not at the record: a cut 200-host run is 3 GiB.
const replayBytes = 64 << 20

// replayPaneLines is how many lines each of n hosts' panes keeps in a replay.
func replayPaneLines(n int) int {
	return max(1, min(paneLines, replayLines/max(n, 1)))
}

// LoadReplay reads recorded run id with load and builds its replay. It runs
// in a command, off the UI's goroutine: the feed is handed over when built.
func LoadReplay(id int64, load func(context.Context, int64) (ops.RecordedRun, error)) (*Feed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), replayLoadTimeout)
	r, err := load(ctx, id)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), replayStreamTimeout)
	defer cancel()
	f, err := replayFeed(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	return f, nil
}

// replayFeed fills a finished run's feed from its record: every host's
// output (meta chunks are the pipeline's step markers, kept as lines and
// as the host's stage), its final status, exit code and error class. The
// output is streamed into the panes' rings (r.Stream), so the replay
// holds what the rings keep, however much was recorded.
func replayFeed(ctx context.Context, r ops.RecordedRun) (*Feed, error) {
	names := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		names[i] = h.Host
	}
	what := r.Command
	if what == "" {
		what = r.Kind
	}
	f := NewFeed(0, what, names)
	f.title = fmt.Sprintf("run %d (recorded %s)", r.ID, r.StartedAt.Time().Local().Format("Jan _2 15:04"))
	keep := replayPaneLines(len(r.Hosts))
	panes := make([]*hostPane, len(r.Hosts))
	marked := make([]bool, len(r.Hosts)) // a cut marker was recorded
	// An ad-hoc command's replay groups its hosts by output, as it did
	// live, when every host's whole output was read (groups.go).
	if r.Kind == store.KindExec {
		f.Grouping()
	}
	whole := true
	push := func(i int, c ops.OutputChunk) {
		p := panes[i]
		if c.Skipped > 0 {
			whole = false
			p.lines.Push(fmt.Sprintf("… %s of earlier output not shown: the replay reads each host's last %s",
				store.HumanBytes(c.Skipped), store.HumanBytes(replayBytes/int64(max(len(r.Hosts), 1)))))
		}
		for _, line := range outputLines(c.Data) {
			if c.Stream == "meta" {
				if stage, ok := strings.CutPrefix(line, "== "); ok {
					p.stage = stage
				}
				marked[i] = marked[i] || strings.HasPrefix(line, record.CutMarkerPrefix)
			}
			// A copy: a kept substring would pin its whole chunk.
			p.lines.Push(strings.Clone(line))
			if f.grouping != nil && c.Stream != "meta" {
				kind := remote.EventStdout
				if c.Stream == "stderr" {
					kind = remote.EventStderr
				}
				f.grouping.line(i, kind, line)
			}
		}
	}
	cut := 0
	for i, h := range r.Hosts {
		panes[i] = f.byName[h.Host]
		if keep < paneLines {
			panes[i].lines = remote.NewRing[string](keep)
		}
	}
	if r.Stream != nil {
		err := r.Stream(ctx, replayBytes/int64(max(len(r.Hosts), 1)), func(i int, c ops.OutputChunk) error {
			if i < 0 || i >= len(panes) {
				return fmt.Errorf("recorded output of host #%d: the run has %d hosts", i, len(panes))
			}
			push(i, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	results := make([]remote.HostResult, 0, len(r.Hosts))
	for i, h := range r.Hosts {
		p := panes[i]
		if h.OutputBytes > h.RecordedBytes {
			cut++
			if !marked[i] { // a run whose opsui died before the host finished
				p.lines.Push("… " + record.RecordedOf(h.RecordedBytes, h.OutputBytes))
			}
		}
		results = append(results, settleRecorded(p, h))
	}
	switch {
	case f.grouping == nil:
	case !whole || cut > 0:
		f.grouping = nil // a part of an output is not the output
	default:
		for i, p := range panes {
			f.grouping.place(i, p)
		}
	}
	switch {
	case cut == 1:
		f.title = strings.TrimSuffix(f.title, ")") + "; output of 1 host cut)"
	case cut > 1:
		f.title = strings.TrimSuffix(f.title, ")") + fmt.Sprintf("; output of %s cut)", deploy.Plural(cut, "host", "hosts"))
	}
	f.done, f.result, f.took = true, remote.NewResult(results, r.Took()), r.Took()
	return f, nil
}

// settleRecorded ends pane p as host h's record says it ended (also a
// followed run's host, once its row is final), and returns its outcome.
func settleRecorded(p *hostPane, h store.RunHost) remote.HostResult {
	if h.Stage != "" {
		p.stage = h.Stage
	}
	hr := recordedResult(h)
	p.took, p.class, p.code = hr.Duration, hr.Class, hr.Code
	switch {
	case hr.Status == remote.StatusOK || (hr.Class == remote.ClassExit && h.ExitCode != nil):
		p.status = remote.EventExited
	default:
		p.status = remote.EventFailed
		if p.class == remote.ClassNone {
			p.class = remote.ErrorClass(h.Status) // skipped, interrupted ...
		}
	}
	p.err = h.Error
	return hr
}

// recordedResult is a recorded host's outcome as the engine reports it.
func recordedResult(h store.RunHost) remote.HostResult {
	hr := remote.HostResult{Host: h.Host, Duration: h.Took(), Class: remote.ErrorClass(h.ErrorClass), Code: -1}
	if h.ExitCode != nil {
		hr.Code = *h.ExitCode
	}
	switch h.Status {
	case store.HostOK:
		hr.Status = remote.StatusOK
	case store.HostCancelled:
		hr.Status = remote.StatusCancelled
	default:
		hr.Status = remote.StatusFailed
		if hr.Class == remote.ClassNone {
			hr.Class = remote.ErrorClass(h.Status)
		}
	}
	if h.Error != "" {
		hr.Err = fmt.Errorf("%s", h.Error)
	}
	return hr
}

// outputLines splits recorded bytes into display lines: a \r-rewritten
// line shows its last state, as a terminal would.
func outputLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if j := strings.LastIndexByte(l, '\r'); j >= 0 {
			l = l[j+1:]
		}
		lines[i] = strings.ToValidUTF8(l, "\uFFFD")
	}
	return lines
}
