package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/themes"
)

func TestLinePrinterPrintsStages(t *testing.T) {
	var out bytes.Buffer
	p := newLinePrinter(&out, []string{"web1", "db1"}, themes.Dark().WithoutColor())
	p.Event(ops.Event{Host: "web1", Kind: ops.EventStage, Line: "unpack", Step: 3, Steps: 7})
	p.Event(ops.Event{Host: "db1", Kind: ops.EventStage, Line: "rollback: health"})
	p.Summary(ops.Result{}, 1)
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
	err := &ops.HostError{Host: "web1", Class: ops.ClassTimeout, Err: errors.New("no answer within 30s")}
	ev := ops.Event{Host: "web1", Kind: ops.EventFailed, Class: ops.ClassTimeout, Err: err}
	res := ops.Result{Hosts: []ops.HostResult{{Host: "web1", Status: ops.StatusFailed, Class: ops.ClassTimeout, Err: err}}}

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
