package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

// TestLinePrinterSaysFailuresAgainstTheirStep: a deploy's host that failed
// its health check and was switched back reads "failed at health: <its
// reason>" and then what the switch back left, never "failed at rollback:
// health", "health: health" or the engine's "Process exited".
func TestLinePrinterSaysFailuresAgainstTheirStep(t *testing.T) {
	var out bytes.Buffer
	p := newLinePrinter(&out, []string{"web1"}, themes.Dark().WithoutColor())
	reason := "http://web1:8000/health/ answered HTTP 500 after 3 tries: broken"
	p.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Line: "health", Step: 9, Steps: 10})
	p.Event(remote.Event{Host: "web1", Kind: remote.EventStderr, Line: reason})
	p.Event(remote.Event{Host: "web1", Kind: remote.EventExited, Code: 1, Class: remote.ClassExit, Err: errors.New("health: " + reason)})
	p.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Line: "rollback: health"})
	p.Event(remote.Event{Host: "web1", Kind: remote.EventFailed, Class: remote.ClassExit,
		Err: errors.New("health: " + reason + "; rolled back to R1: healthy")})
	p.Flush()
	got := out.String()
	for _, want := range []string{"web1 | failed at health: " + reason + "\n", "web1 | failed at health: " + reason + "; rolled back to R1: healthy\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"at rollback", "health: health", "command-failed", "Process exited"} {
		if strings.Contains(got, bad) {
			t.Errorf("output says %q:\n%s", bad, got)
		}
	}
}

// TestLinePrinterSaysCancelledOnce: a cancelled command reads "cancelled",
// not "cancelled: context canceled" or "cancelled: cancelled".
func TestLinePrinterSaysCancelledOnce(t *testing.T) {
	var out bytes.Buffer
	p := newLinePrinter(&out, []string{"web1", "web2"}, themes.Dark().WithoutColor())
	for _, err := range []error{context.Canceled, errors.New("cancelled")} {
		p.Event(remote.Event{Host: "web1", Kind: remote.EventFailed, Class: remote.ClassCancelled, Err: err})
	}
	p.Summary(remote.NewResult([]remote.HostResult{{Host: "web1", Status: remote.StatusCancelled, Class: remote.ClassCancelled, Err: context.Canceled},
		{Host: "web2", Status: remote.StatusOK}}, 0), 17)
	got := out.String()
	if strings.Count(got, "web1 | cancelled\n") != 2 || !strings.Contains(got, "web1  cancelled\n") || !strings.Contains(got, "run 17") {
		t.Errorf("output:\n%s", got)
	}
	for _, bad := range []string{"context canceled", "cancelled: cancelled"} {
		if strings.Contains(got, bad) {
			t.Errorf("output says %q:\n%s", bad, got)
		}
	}
}
