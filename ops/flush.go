package ops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/cache"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// FlushQuery picks the cache hosts of a flush.
type FlushQuery struct {
	// Env is the hosts' environment; "" for the inventory's only one, or
	// for any when Names say which hosts.
	Env   string
	Role  string   // the role whose settings say what to flush; cache.DefaultRole when empty
	Names []string // only these hosts, when given
	// Getenv reads this machine's environment for a Redis password
	// (options.password_env); the process's own when nil.
	Getenv func(string) string
}

// FlushRequest is a flush of hosts' caches, as FlushPlan (cache.Plan)
// made their specs.
type FlushRequest struct {
	Env string // the run's environment; "" when the hosts span several
	// Envs are the environments of the hosts, for the question asked
	// before a flush (a protected one needs its name typed).
	Envs    []inventory.Environment
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
	if err := checkNames(f, q.Env, q.Names); err != nil {
		return FlushRequest{}, err
	}
	for _, n := range q.Names {
		if h, _ := f.Host(n); !h.HasRole(role) {
			return FlushRequest{}, fmt.Errorf("host %s has no role %s (its roles: %s)", n, role, strings.Join(h.Roles, ", "))
		}
	}
	env := q.Env
	switch {
	case env != "", len(q.Names) > 0:
	case len(f.Environments) == 1:
		env = f.Environments[0].Name
	case len(f.Environments) > 1:
		return FlushRequest{}, &InvalidError{fmt.Errorf("which environment? --env one of %s", strings.Join(EnvNames(f), ", "))}
	}
	hosts := f.Select(inventory.Filter{Env: env, Role: role, Names: q.Names})
	if len(hosts) == 0 {
		where := ""
		if env != "" {
			where = " of " + env
		}
		return FlushRequest{}, fmt.Errorf("no host%s has the role %s (see opsui inventory list)", where, role)
	}
	req := FlushRequest{Hosts: hosts}
	for _, h := range hosts {
		if e, ok := f.Environment(h.Env); ok && !slices.ContainsFunc(req.Envs, func(x inventory.Environment) bool { return x.Name == e.Name }) {
			req.Envs = append(req.Envs, e)
		}
	}
	if len(req.Envs) == 1 {
		req.Env = req.Envs[0].Name
	}
	getenv := q.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	if req.Specs, err = cache.Plan(f, hosts, role, getenv); err != nil {
		return FlushRequest{}, err
	}
	return req, nil
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
