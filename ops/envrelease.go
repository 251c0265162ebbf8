package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// EnvChangeRequest is a config release as an operator asks for it: env
// set (Assign: KEY=VALUE or KEY@SECRET), env unset (Keys) or env apply
// (neither), on a target resolved by Service.Target.
type EnvChangeRequest struct {
	Target   Target
	Action   store.ConfigAction
	Assign   []string
	Keys     []string
	Strategy deploy.Strategy // Kind "": the environment's default
}

// ParseEnvAssignments reads env set's arguments: KEY=VALUE gives a plain
// value (it may hold '=' and '@'), KEY@SECRET a reference to a secret the
// app's secrets: declare. Whichever of '=' and '@' comes first decides.
func ParseEnvAssignments(args []string) (map[string]inventory.EnvValue, error) {
	out := map[string]inventory.EnvValue{}
	for _, a := range args {
		i := strings.IndexAny(a, "=@")
		if i <= 0 {
			return nil, fmt.Errorf("%q: give KEY=VALUE, or KEY@SECRET for a secret the app's secrets: declare", a)
		}
		k, sep, rest := a[:i], a[i], a[i+1:]
		if msg := inventory.EnvKeyProblem(k); msg != "" {
			return nil, errors.New(msg)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s is given twice", k)
		}
		v := inventory.EnvValue{Value: rest}
		if sep == '@' {
			if rest == "" {
				return nil, fmt.Errorf("%q: name the secret after @", a)
			}
			v = inventory.EnvValue{Secret: rest}
		} else if strings.ContainsRune(rest, 0) {
			return nil, fmt.Errorf("the value of %s holds a NUL byte", k)
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil, errors.New("give at least one KEY=VALUE or KEY@SECRET")
	}
	return out, nil
}

// PlanEnvChange decides req's config release without changing anything
// (deploy.PlanConfig): the plan ConfigRelease runs as it is.
func (s *Service) PlanEnvChange(ctx context.Context, req EnvChangeRequest) (*deploy.ConfigPlan, error) {
	tg := req.Target
	creq := deploy.ConfigRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env, Select: tg.Select, Hosts: tg.Hosts,
		Action: req.Action, Strategy: req.Strategy}
	switch req.Action {
	case store.ConfigSet:
		set, err := ParseEnvAssignments(req.Assign)
		if err != nil {
			return nil, &InvalidError{fmt.Errorf("env set: %w", err)}
		}
		creq.Set = set
	case store.ConfigUnset:
		if len(req.Keys) == 0 {
			return nil, &InvalidError{errors.New("env unset: name at least one KEY")}
		}
		for _, k := range req.Keys {
			if msg := inventory.EnvKeyProblem(k); msg != "" {
				return nil, &InvalidError{fmt.Errorf("env unset: %s", msg)}
			}
		}
		creq.Unset = req.Keys
	case store.ConfigApply:
	default:
		return nil, &InvalidError{fmt.Errorf("unknown env change %q", req.Action)}
	}
	return s.planConfig(ctx, creq)
}

// PlanConfigRollback decides the rollback of tg's environment to what it
// was before its newest config release still in effect
// (deploy.ConfigRollbackTarget): a config release that restores that
// env block, secret references as they were (their values are read again
// when it runs, never kept).
func (s *Service) PlanConfigRollback(ctx context.Context, tg Target, strategy deploy.Strategy) (*deploy.ConfigPlan, error) {
	target, err := deploy.ConfigRollbackTarget(ctx, s.Store, tg.App.Name, tg.Env.Name)
	if err != nil {
		return nil, &InvalidError{err}
	}
	return s.planConfig(ctx, deploy.ConfigRequest{Fleet: tg.Fleet, App: tg.App, Env: tg.Env, Select: tg.Select, Hosts: tg.Hosts,
		Action: store.ConfigRollback, Restore: target.Config.Before, RollbackOf: &target, Strategy: strategy})
}

func (s *Service) planConfig(ctx context.Context, req deploy.ConfigRequest) (*deploy.ConfigPlan, error) {
	cp, err := deploy.PlanConfig(ctx, s.Store, req)
	var ie *deploy.ConfigInputError
	if errors.As(err, &ie) {
		return nil, &InvalidError{err}
	}
	return cp, err
}

// ConfigRelease runs cp, the config release the operator confirmed, as it
// is: refused inside a freeze window unless cp.Plan.BreakGlass gives a
// reason (recorded and announced as a deploy's; a rollback is not
// refused), and refused with a
// *deploy.FleetChangedError when the inventory or the releases changed
// since the plan.
func (s *Service) ConfigRelease(ctx context.Context, cp *deploy.ConfigPlan, io IO) (*deploy.Outcome, error) {
	if cp == nil {
		return nil, errors.New("config release: no plan (plan it first)")
	}
	_, _ = s.Store.ReapStaleRuns(ctx)
	var frozen *FrozenError
	if cp.Action != store.ConfigRollback { // a rollback is not stopped by a freeze, as a code rollback is not
		var err error
		if frozen, err = s.freezeGate(ctx, cp.Plan); err != nil {
			return nil, err
		}
	}
	d, err := s.deployer(cp.Plan.Hosts, cp.Plan.Balancers, io)
	if err != nil {
		return nil, err
	}
	if frozen != nil {
		io.orQuiet().Say(fmt.Sprintf("breaking glass: %s is frozen (%s); going ahead for %q, recorded as %s's", cp.Plan.Env.Name,
			frozen.Freezes[0].Reason, cp.Plan.BreakGlass, s.Operator))
	}
	out, err := d.ExecuteConfig(ctx, cp)
	if frozen != nil && out != nil {
		s.breakGlass(ctx, cp.Plan, frozen, out, io)
	}
	return out, err
}

// EnvHistory returns the config releases of tg's app and environment,
// newest first, each with what it changed (secrets by name only).
func (s *Service) EnvHistory(ctx context.Context, tg Target) ([]store.ConfigRelease, error) {
	rs, err := s.Store.ConfigReleases(ctx, tg.App.Name, tg.Env.Name)
	if err != nil {
		return nil, err
	}
	slices.Reverse(rs)
	return rs, nil
}
