package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// setupRun is opsui setup APP --env E [--host H] [--dry-run] [--force]:
// one call to ops.Service.Setup, then the report.
func (c *cli) setupRun(ctx context.Context, s *store.Store, tf *targetFlags, sshf *sshFlags, args []string, dry, force bool) error {
	svc := c.service(s)
	tg, err := svc.SetupTarget(ctx, tf.scope(args))
	if err != nil {
		return opError(planError(err))
	}
	_, done, err := c.connect(svc, sshf, tg.Hosts)
	if err != nil {
		return err
	}
	defer done()
	what := "setting up"
	if dry {
		what = "checking (dry run: nothing is changed)"
	}
	fmt.Fprintf(c.stderr, "opsui: %s %s on %s of %s\n", what, tg.App.Name, deploy.Plural(len(tg.Hosts), "host", "hosts"), tg.Env.Name)
	rep, err := svc.Setup(ctx, ops.SetupRequest{Target: tg, DryRun: dry, Force: force}, nil)
	var recErr *ops.RecordError
	if err != nil && !errors.As(err, &recErr) {
		return opError(err)
	}
	printSetupReport(c.stdout, tg.App.Name, tg.Env.Name, rep)
	if recErr != nil {
		return fmt.Errorf("record run: %w", recErr.Err)
	}
	if !rep.Ready() {
		return printedError{hostsFailedError{"not ready"}}
	}
	return nil
}

// printSetupReport prints each host's three lists, in the words the
// hosts' output and the run's record use, then one line for the run.
func printSetupReport(w io.Writer, app, env string, rep ops.SetupReport) {
	doneWord := deploy.SetupDone
	if rep.DryRun {
		doneWord = deploy.SetupWould
	}
	ready, human, failed := 0, 0, 0
	for _, h := range rep.Hosts {
		switch {
		case h.Err != nil:
			failed++
			fmt.Fprintf(w, "%s: not checked: %v\n", h.Host, h.Err)
		case h.Ready():
			ready++
			fmt.Fprintf(w, "%s: ready\n", h.Host)
		default:
			human++
			fmt.Fprintf(w, "%s: %s (%d)\n", h.Host, deploy.SetupHuman, len(h.Human))
		}
		printSetupItems(w, doneWord, h.Done)
		printSetupItems(w, deploy.SetupRight, h.Right)
		printSetupItems(w, deploy.SetupHuman, h.Human)
	}
	fmt.Fprintf(w, "setup of %s on %s", app, env)
	if rep.DryRun {
		fmt.Fprint(w, " (dry run: nothing was changed)")
	}
	if rep.RunID != 0 {
		fmt.Fprintf(w, ", run %d", rep.RunID)
	}
	fmt.Fprintf(w, ": %d ready, %d %s", ready, human, deploy.SetupHuman)
	if failed > 0 {
		fmt.Fprintf(w, ", %d not checked", failed)
	}
	fmt.Fprintln(w)
}

func printSetupItems(w io.Writer, word string, items []deploy.SetupItem) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(w, "  %s:\n", word)
	for _, it := range items {
		fmt.Fprintf(w, "    %s\n", it.Text)
		for _, c := range it.Commands {
			fmt.Fprintf(w, "      $ %s\n", c)
		}
		for _, d := range it.Diff {
			fmt.Fprintf(w, "      | %s\n", d)
		}
	}
}
