package ops

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// FlushQuery picks the cache hosts of a flush.
type FlushQuery struct {
	Env   string   // the hosts' environment; "" for any (Names then say which)
	Role  string   // the role whose settings say what to flush; cache.DefaultRole when empty
	Names []string // only these hosts, when given
	// Getenv reads this machine's environment for a Redis password
	// (options.password_env); the process's own when nil.
	Getenv func(string) string
}

// FlushRequest is a flush of hosts' caches, as FlushPlan (cache.Plan)
// made their specs.
type FlushRequest struct {
	Env     string // the run's environment; "" when the hosts span several
	Hosts   []inventory.Host
	Specs   []cache.Spec // one per host
	Options remote.RunOptions
}

// FlushPlan reads the inventory and says what a flush of q's hosts would
// do: the hosts of q.Env with q.Role (only those named, when names are
// given) and what each flushes. It changes nothing.
func (s *Service) FlushPlan(ctx context.Context, q FlushQuery) (FlushRequest, error) {
	if s.Store == nil {
		return FlushRequest{}, errors.New("ops: FlushPlan without a store")
	}
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return FlushRequest{}, err
	}
	role := q.Role
	if role == "" {
		role = cache.DefaultRole
	}
	hosts := f.Select(inventory.Filter{Env: q.Env, Role: role, Names: q.Names})
	if len(hosts) == 0 {
		return FlushRequest{}, fmt.Errorf("no host of %s has the role %s", q.Env, role)
	}
	getenv := q.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	specs, err := cache.Plan(f, hosts, role, getenv)
	if err != nil {
		return FlushRequest{}, err
	}
	return FlushRequest{Env: q.Env, Hosts: hosts, Specs: specs}, nil
}

// Flush is the flush operation of the CLI and the console: it flushes
// req's hosts as cache.Flush does, recorded as a flush run (Record says
// what it returns). A request cache.Flush would refuse (a host without a
// spec, invalid options) is refused with an *InvalidError before anything
// is recorded.
func (s *Service) Flush(ctx context.Context, req FlushRequest, emit func(remote.Event)) (cache.Report, *record.Recorder, error) {
	if err := checkFlush(req); err != nil {
		return cache.Report{}, nil, &InvalidError{Err: err}
	}
	targets, err := s.Targets(req.Hosts)
	if err != nil {
		return cache.Report{}, nil, err
	}
	var rep cache.Report
	_, rec, err := s.Record(ctx, store.NewRun{Kind: store.KindFlush, Env: req.Env, Command: cache.RecordCommand(req.Specs)}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			var err error
			rep, err = cache.Flush(ctx, s.Conn, targets, req.Specs, req.Options, emit)
			return rep.Run, err
		})
	return rep, rec, err
}

// checkFlush refuses what cache.Flush would, with its words, before a run
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
