package ops

import (
	"context"
	"errors"

	"github.com/opsui/opsui/ops/deploy"
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
