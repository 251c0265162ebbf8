package ui

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/ops"
)

// replayFeed fills a finished run's feed from its record: every host's
// output (meta chunks are the pipeline's step markers, kept as lines and
// as the host's stage), its final status, exit code and error class.
func replayFeed(r RecordedRun) *runFeed {
	names := make([]string, len(r.Hosts))
	for i, h := range r.Hosts {
		names[i] = h.Name
	}
	what := r.Command
	if what == "" {
		what = r.Kind
	}
	f := newRunFeed(0, what, names)
	f.title = fmt.Sprintf("run #%d (recorded %s)", r.ID, r.Started.Local().Format("Jan _2 15:04"))
	results := make([]ops.HostResult, 0, len(r.Hosts))
	for _, h := range r.Hosts {
		p := f.byName[h.Name]
		for _, c := range h.Output {
			for _, line := range outputLines(c.Data) {
				if c.Stream == "meta" {
					p.stage = strings.TrimPrefix(line, "== ")
				}
				p.lines.Push(line)
			}
		}
		if h.Stage != "" {
			p.stage = h.Stage
		}
		hr := recordedResult(h)
		p.took, p.class, p.code = hr.Duration, hr.Class, hr.Code
		switch {
		case hr.Status == ops.StatusOK || (hr.Class == ops.ClassExit && h.Code != nil):
			p.status = ops.EventExited
		default:
			p.status = ops.EventFailed
			if p.class == ops.ClassNone {
				p.class = ops.ErrorClass(h.Status) // skipped, interrupted ...
			}
		}
		p.err = h.Err
		results = append(results, hr)
	}
	f.done, f.result, f.took = true, ops.NewResult(results, r.Duration), r.Duration
	return f
}

// recordedResult is a recorded host's outcome as the engine reports it.
func recordedResult(h RecordedHost) ops.HostResult {
	hr := ops.HostResult{Host: h.Name, Duration: h.Duration, Class: ops.ErrorClass(h.Class), Code: -1}
	if h.Code != nil {
		hr.Code = *h.Code
	}
	switch h.Status {
	case string(ops.StatusOK):
		hr.Status = ops.StatusOK
	case string(ops.StatusCancelled):
		hr.Status = ops.StatusCancelled
	default:
		hr.Status = ops.StatusFailed
		if hr.Class == ops.ClassNone {
			hr.Class = ops.ErrorClass(h.Status)
		}
	}
	if h.Err != "" {
		hr.Err = fmt.Errorf("%s", h.Err)
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
