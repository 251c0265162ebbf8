package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
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
	unmet := c.printUnmetRequirements(svc.UnmetRequirements(ctx, p), p.App)
	chk, ok, err := svc.CheckMigrations(ctx, p)
	if err != nil || !ok {
		c.printNewMigrations(newFiles, nil, p.App)
		if err == nil && unmet != nil {
			return unmet
		}
		return err
	}
	c.printNewMigrations(newFiles, &chk, p.App)
	for _, l := range chk.Lines() {
		fmt.Fprintln(c.stdout, l)
	}
	if err := p.Gate(chk, old); err != nil {
		return fmt.Errorf("this deploy would be %w", err)
	}
	return unmet
}

// printUnmetRequirements prints, host by host, the requirements.txt pins
// a host's python does not meet, as the wizard's preview does; with the
// app's strict_requirements the deploy would fail its build, which it
// returns as the dry run's error.
func (c *cli) printUnmetRequirements(unmet map[string][]string, app inventory.App) error {
	var failing []string
	for _, h := range slices.Sorted(maps.Keys(unmet)) {
		for _, w := range unmet[h] {
			fmt.Fprintf(c.stdout, "! %s: requirements: %s\n", h, w)
			if !strings.HasPrefix(w, "not checked") && !slices.Contains(failing, h) {
				failing = append(failing, h)
			}
		}
	}
	if len(failing) > 0 && app.StrictRequirements {
		return fmt.Errorf("this deploy would fail its build on %s: strict_requirements, and requirements.txt is not met (ship wheels/ in the release)", strings.Join(failing, ", "))
	}
	return nil
}
