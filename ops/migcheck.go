package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// CheckMigrations checks, without changing anything, the migrations the
// deploy p would run (deploy.Deployer.PreviewMigrations): what --dry-run
// and the wizard's preview show. ok is false when the app is not checked.
// The deploy checks again in the built release, and that verdict gates it.
func (s *Service) CheckMigrations(ctx context.Context, p *deploy.Plan) (c deploy.MigrationCheck, ok bool, err error) {
	if p == nil {
		return c, false, errors.New("check migrations: no plan")
	}
	d, err := s.deployer(p.Hosts, nil, IO{})
	if err != nil {
		return c, false, err
	}
	return d.PreviewMigrations(ctx, p)
}

// UnmetRequirements reads, on each host of p, the requirements.txt pins
// of its commit that the host's python does not meet: per host, what the
// build would warn about, or refuse with strict_requirements (nil: none,
// or not a django preset app, or a release that ships wheels/).
func (s *Service) UnmetRequirements(ctx context.Context, p *deploy.Plan) map[string][]string {
	targets, err := s.Targets(p.Hosts)
	if err != nil {
		return nil
	}
	return deploy.UnmetRequirements(ctx, s.Conn, targets, p)
}

// RollbackMeets says what a rollback to target leaves the old code facing:
// for each undone release that applied migrations its check found
// breaking (or unknown), which operation changed which table, since a
// rollback never reverses a migration. Releases without a recorded check
// say nothing here (MigrationsKept warns of them).
func (s *Service) RollbackMeets(ctx context.Context, target store.Release, undone []store.Release) ([]string, error) {
	var out []string
	for _, r := range undone {
		if !r.MigrationsApplied || r.Kind != store.KindDeploy {
			continue
		}
		c, _, ok, err := deploy.RecordedMigrationCheck(ctx, s.Store, r.App, r.Env, r.ReleaseID)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for _, o := range c.Ops {
			if o.Verdict == deploy.VerdictSafe {
				continue
			}
			out = append(out, fmt.Sprintf("the code of release %s (%s) meets %s.%s of release %s: %s — %s (%s)",
				target.ReleaseID, deploy.ShortCommit(target.Commit), o.App, o.Migration, r.ReleaseID, o.Op, o.Reason, o.Verdict))
		}
	}
	return out, nil
}
