package ops

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// RunbookRequest names a runbook of the fleet file and where it runs: an
// environment and, optionally, some of the runbook's hosts there.
type RunbookRequest struct {
	Name string
	Env  string
	// Hosts narrow the runbook's hosts in Env to these; empty: all.
	Hosts []string
}

// RunbookPlan is a runbook resolved in the fleet: its definition and the
// hosts it runs on, in fleet order. It is what the operator confirms, and
// Service.Runbook refuses it when the fleet changed since.
type RunbookPlan struct {
	Runbook inventory.Runbook
	Env     string
	Hosts   []inventory.Host
	// Protected names Env when it is a protected environment: its name
	// must be typed before the runbook runs.
	Protected string
}

// Runbooks lists the fleet's runbooks, in the fleet file's order.
func (s *Service) Runbooks(ctx context.Context) ([]inventory.Runbook, error) {
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return nil, err
	}
	return f.Runbooks, nil
}

// PlanRunbook resolves req in f: the runbook, the environment (which it
// must allow) and the hosts of its roles there, narrowed to req.Hosts. A
// name f lacks is an *UnknownNameError, a request that cannot be met an
// *InvalidError; nothing is run or recorded.
func PlanRunbook(f *inventory.Fleet, req RunbookRequest) (RunbookPlan, error) {
	rb, ok := f.Runbook(req.Name)
	if !ok {
		names := make([]string, len(f.Runbooks))
		for i, r := range f.Runbooks {
			names[i] = r.Name
		}
		return RunbookPlan{}, &UnknownNameError{Kind: "runbook", Name: req.Name, Known: names}
	}
	if err := checkNames(f, req.Env, req.Hosts); err != nil {
		return RunbookPlan{}, err
	}
	in := runbookEnvs(f, rb)
	switch {
	case req.Env == "":
		return RunbookPlan{}, &InvalidError{fmt.Errorf("runbook %s: say which environment (--env %s)", rb.Name, strings.Join(in, "|"))}
	case !rb.AllowsEnv(req.Env):
		return RunbookPlan{}, &InvalidError{fmt.Errorf("runbook %s runs only in %s, not %s", rb.Name, strings.Join(rb.Envs, ", "), req.Env)}
	}
	p := RunbookPlan{Runbook: rb, Env: req.Env}
	var there []string
	for _, h := range f.Select(inventory.Filter{Env: req.Env}) {
		if !rb.Applies(h) {
			continue
		}
		there = append(there, h.Name)
		if len(req.Hosts) == 0 || slices.Contains(req.Hosts, h.Name) {
			p.Hosts = append(p.Hosts, h)
		}
	}
	if len(there) == 0 {
		return RunbookPlan{}, &InvalidError{fmt.Errorf("runbook %s: no host of %s in %s", rb.Name, rolesOf(rb), req.Env)}
	}
	for _, n := range req.Hosts {
		if !slices.Contains(there, n) {
			return RunbookPlan{}, &InvalidError{fmt.Errorf("runbook %s: %s is not one of its hosts in %s (%s)",
				rb.Name, n, req.Env, strings.Join(there, ", "))}
		}
	}
	if e, _ := f.Environment(req.Env); e.Protected {
		p.Protected = e.Name
	}
	return p, nil
}

// rolesOf says which hosts rb runs on: "role web", "roles web or db", or
// "any role".
func rolesOf(rb inventory.Runbook) string {
	switch len(rb.Roles) {
	case 0:
		return "any role"
	case 1:
		return "role " + rb.Roles[0]
	}
	return "roles " + strings.Join(rb.Roles, " or ")
}

// runbookEnvs are the environments rb can run in: its own list, else
// every environment of f.
func runbookEnvs(f *inventory.Fleet, rb inventory.Runbook) []string {
	if len(rb.Envs) > 0 {
		return rb.Envs
	}
	return EnvNames(f)
}

// ErrRunbookChanged refuses a runbook plan that no longer matches the
// inventory: what was confirmed is not what would run.
var ErrRunbookChanged = errors.New("changed since it was confirmed: nothing was run; look at it again")

// Runbook runs plan's command on its hosts as Exec does, recorded as an
// exec run whose command reads "runbook NAME" (Record says what it
// returns). The inventory is read again first: a runbook whose command,
// roles or hosts changed since the plan was made is refused with
// ErrRunbookChanged, so the command confirmed is the command that runs.
// opts.Timeout 0 takes the runbook's own timeout.
func (s *Service) Runbook(ctx context.Context, plan RunbookPlan, opts remote.RunOptions, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
	if opts.Timeout == 0 {
		opts.Timeout = time.Duration(plan.Runbook.Timeout)
	}
	if err := opts.Validate(); err != nil {
		return remote.Result{}, nil, &InvalidError{err}
	}
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return remote.Result{}, nil, err
	}
	names := runbookHostNames(plan.Hosts)
	now, err := PlanRunbook(f, RunbookRequest{Name: plan.Runbook.Name, Env: plan.Env, Hosts: names})
	if err != nil {
		return remote.Result{}, nil, fmt.Errorf("runbook %s %w (%w)", plan.Runbook.Name, ErrRunbookChanged, err)
	}
	if !reflect.DeepEqual(now.Runbook, plan.Runbook) || now.Protected != plan.Protected {
		return remote.Result{}, nil, fmt.Errorf("runbook %s %w", plan.Runbook.Name, ErrRunbookChanged)
	}
	targets, err := s.Targets(now.Hosts)
	if err != nil {
		return remote.Result{}, nil, err
	}
	return s.Record(ctx, store.NewRun{Kind: store.KindExec, Env: plan.Env, Command: plan.Runbook.Label()}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			res, err := remote.Run(ctx, s.Conn, targets, plan.Runbook.Run, opts, emit)
			if err != nil {
				return res, fmt.Errorf("%s: %w", plan.Runbook.Label(), err)
			}
			return res, nil
		})
}

// runbookHostNames returns the hosts' names, in order.
func runbookHostNames(hosts []inventory.Host) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return names
}
