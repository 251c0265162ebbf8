package main

import (
	"context"
	"fmt"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

// printMigrationCheck prints, for --dry-run, the compatibility verdict
// on the migrations p would run, checked on its migration host; a plan
// the deploy would refuse for it is an error (exit 1), so a script's dry
// run tells. old is whether the environment runs a release already.
func (c *cli) printMigrationCheck(ctx context.Context, svc *ops.Service, sshf *sshFlags, p *deploy.Plan, old bool, newFiles []string) error {
	_, done, err := c.connect(svc, sshf, p.Hosts)
	if err != nil {
		c.printNewMigrations(newFiles, nil, p.App)
		return err
	}
	defer done()
	chk, ok, err := svc.CheckMigrations(ctx, p)
	if err != nil || !ok {
		c.printNewMigrations(newFiles, nil, p.App)
		return err
	}
	c.printNewMigrations(newFiles, &chk, p.App)
	for _, l := range chk.Lines() {
		fmt.Fprintln(c.stdout, l)
	}
	if err := p.Gate(chk, old); err != nil {
		return fmt.Errorf("this deploy would be %w", err)
	}
	return nil
}
