package cache

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// FlushRequest is a flush of hosts' caches, as Plan made their specs.
type FlushRequest struct {
	Env     string // the run's environment; "" when the hosts span several
	Hosts   []inventory.Host
	Specs   []Spec // one per host
	Options remote.RunOptions
}

// FlushRecorded is the flush operation of the CLI and the console: it
// flushes req's hosts as Flush does, recorded as a flush run through svc
// (ops.Service.Record says what it returns). A request Flush would refuse
// (a host without a spec, invalid options) is refused with an
// *ops.InvalidError before anything is recorded.
func FlushRecorded(ctx context.Context, svc *ops.Service, req FlushRequest, emit func(remote.Event)) (Report, *record.Recorder, error) {
	if err := checkFlush(req); err != nil {
		return Report{}, nil, &ops.InvalidError{Err: err}
	}
	targets, err := svc.Targets(req.Hosts)
	if err != nil {
		return Report{}, nil, err
	}
	var rep Report
	_, rec, err := svc.Record(ctx, store.NewRun{Kind: store.KindFlush, Env: req.Env, Command: RecordCommand(req.Specs)}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			var err error
			rep, err = Flush(ctx, svc.Conn, targets, req.Specs, req.Options, emit)
			return rep.Run, err
		})
	return rep, rec, err
}

// checkFlush refuses what Flush would, with Flush's words, before a run
// is recorded.
func checkFlush(req FlushRequest) error {
	has := make(map[string]bool, len(req.Specs))
	for _, s := range req.Specs {
		has[s.Host] = true
	}
	for _, h := range req.Hosts {
		if !has[h.Name] {
			return fmt.Errorf("flush: no cache settings for host %s", h.Name)
		}
	}
	if req.Options.Parallel < 0 {
		return errors.New("flush: negative Parallel")
	}
	if err := req.Options.Validate(); err != nil && len(req.Hosts) > 0 {
		return fmt.Errorf("flush %s: %w", req.Hosts[0].Name, err)
	}
	return nil
}

// RecordCommand is what a flush run's record says was run: what each host
// flushed (the per-host commands are long scripts, and hold no secret).
func RecordCommand(specs []Spec) string {
	parts := make([]string, len(specs))
	for i, s := range specs {
		parts[i] = s.Host + ": " + s.Server()
	}
	return "flush " + strings.Join(parts, "; ")
}
