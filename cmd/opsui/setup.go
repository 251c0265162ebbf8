package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
)

func newSetupCmd(c *cli) *cobra.Command {
	var (
		tf           targetFlags
		file         string
		printSudoers bool
	)
	cmd := &cobra.Command{
		Use:   "setup [APP] --env E --print-sudoers [--file FLEET.yaml]",
		Short: "Print what hosts need before the first deploy (for now: the sudoers lines)",
		Long: `With --print-sudoers, print the sudoers lines the deploy user needs on the
environment's hosts: one exact command per line (an absolute program and
literal arguments, never a shell or a wildcard), for each role whose reload
runs with sudo: true and each command a reload, stage or migration writes
with sudo. Commands that no exact line can allow are listed as NOTE
comments. The fleet is the stored inventory, or the fleet file given with
--file (before it is imported). Nothing is sent to any host.

Taking bare hosts to ready for the first deploy is not built yet:
--print-sudoers is required.`,
		Example: `  opsui setup shop --env production --print-sudoers
  opsui setup shop --env production --print-sudoers --file fleet.yaml > opsui-shop.sudoers`,
		Args: cobra.MaximumNArgs(1),
	}
	printFor := func(f *inventory.Fleet, app, env string) error {
		rules, notes, err := f.SudoRules(app, env)
		if err != nil {
			return inputError{err} // an unknown name, or a sudo reload the fleet file should not have
		}
		_, err = fmt.Fprint(c.stdout, inventory.FormatSudoers(app, env, rules, notes))
		return err
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if !printSudoers {
			return usageError{fmt.Errorf("setup: only --print-sudoers is built so far (taking bare hosts to ready is not)")}
		}
		if file != "" {
			f, err := readFleetFile(c, file)
			if err != nil {
				return err
			}
			app, env := tf.scope(args).App, tf.env
			if app == "" && len(f.Apps) == 1 {
				app = f.Apps[0].Name
			}
			if env == "" && len(f.Environments) == 1 {
				env = f.Environments[0].Name
			}
			if app == "" || env == "" {
				return usageError{fmt.Errorf("setup: name the app and --env (the fleet file has several)")}
			}
			return printFor(f, app, env)
		}
		return c.withTarget(&tf, nil, func(ctx context.Context, svc *ops.Service, tg ops.Target) error {
			return printFor(tg.Fleet, tg.App.Name, tg.Env.Name)
		})(cmd, args)
	}
	tf.register(cmd)
	cmd.Flags().BoolVar(&printSudoers, "print-sudoers", false, "print the sudoers lines the deploy user needs")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read this fleet file instead of the stored inventory (- for stdin)")
	return cmd
}
