package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/themes"
)

func TestLinePrinterPrintsStages(t *testing.T) {
	var out bytes.Buffer
	p := newLinePrinter(&out, []string{"web1", "db1"}, themes.Dark().WithoutColor())
	p.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Line: "unpack", Step: 3, Steps: 7})
	p.Event(remote.Event{Host: "db1", Kind: remote.EventStage, Line: "rollback: health"})
	p.Summary(remote.Result{}, 1)
	for _, want := range []string{"web1 | == 3/7 unpack\n", "db1  | == rollback: health\n"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPrintersDropTheHostPrefix: a host's failure reads once "host |
// failed: class: cause", not with the host and class said twice, in the
// line, the summary and the JSON.
func TestPrintersDropTheHostPrefix(t *testing.T) {
	err := &remote.HostError{Host: "web1", Class: remote.ClassTimeout, Err: errors.New("no answer within 30s")}
	ev := remote.Event{Host: "web1", Kind: remote.EventFailed, Class: remote.ClassTimeout, Err: err}
	res := remote.Result{Hosts: []remote.HostResult{{Host: "web1", Status: remote.StatusFailed, Class: remote.ClassTimeout, Err: err}}}

	var plain bytes.Buffer
	p := newLinePrinter(&plain, []string{"web1"}, themes.Dark().WithoutColor())
	p.Event(ev)
	p.Summary(res, 7)
	for _, want := range []string{"web1 | failed: timeout: no answer within 30s\n", "  web1  timeout: no answer within 30s\n"} {
		if !strings.Contains(plain.String(), want) {
			t.Errorf("plain output lacks %q:\n%s", want, plain.String())
		}
	}

	var js bytes.Buffer
	j := newJSONPrinter(&js)
	j.Event(ev)
	j.Summary(res, 7)
	if n := strings.Count(js.String(), `"error":"no answer within 30s"`); n != 2 {
		t.Errorf("JSON output has the bare cause %d times, want 2:\n%s", n, js.String())
	}
}
