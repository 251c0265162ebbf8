package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
)

func newSetupCmd(c *cli) *cobra.Command {
	var (
		tf              targetFlags
		file            string
		printSudoers    bool
		printSupervisor bool
	)
	cmd := &cobra.Command{
		Use:   "setup [APP] --env E --print-sudoers|--print-supervisor [--file FLEET.yaml]",
		Short: "Print what hosts need before the first deploy (for now: the sudoers lines)",
		Long: `With --print-sudoers, print the sudoers lines the deploy user needs on the
environment's hosts: one exact command per line (an absolute program and
literal arguments, never a shell or a wildcard), for each role whose reload
runs with sudo: true and each command a reload, stage or migration writes
with sudo. Commands that no exact line can allow are listed as NOTE
comments. The fleet is the stored inventory, or the fleet file given with
--file (before it is imported). Nothing is sent to any host.

With --print-supervisor, print the supervisord program section of each web
host whose role says process: supervisord, to install in supervisord's
include directory (then: supervisorctl update). The gunicorn master's
working directory is the current symlink's path, so a reload (HUP) and a
restart after a crash load the release current points at.

Taking bare hosts to ready for the first deploy is not built yet: one of
--print-sudoers and --print-supervisor is required.`,
		Example: `  opsui setup shop --env production --print-sudoers
  opsui setup shop --env production --print-supervisor
  opsui setup shop --env production --print-sudoers --file fleet.yaml > opsui-shop.sudoers`,
		Args: cobra.MaximumNArgs(1),
	}
	printFor := func(f *inventory.Fleet, app, env string) error {
		if printSupervisor {
			return c.printSupervisor(f, app, env)
		}
		rules, notes, err := f.SudoRules(app, env)
		if err != nil {
			return inputError{err} // an unknown name, or a sudo reload the fleet file should not have
		}
		_, err = fmt.Fprint(c.stdout, inventory.FormatSudoers(app, env, rules, notes))
		return err
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if printSudoers == printSupervisor {
			return usageError{fmt.Errorf("setup: give one of --print-sudoers and --print-supervisor (taking bare hosts to ready is not built yet)")}
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
	cmd.Flags().BoolVar(&printSupervisor, "print-supervisor", false, "print the supervisord program section of each web host under process: supervisord")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read this fleet file instead of the stored inventory (- for stdin)")
	return cmd
}

// printSupervisor prints the program section of every web host of env
// whose role says process: supervisord, each after a comment saying where
// it goes.
func (c *cli) printSupervisor(f *inventory.Fleet, app, env string) error {
	a, ok := f.App(app)
	if !ok {
		return inputError{fmt.Errorf("no app %q in the fleet", app)}
	}
	if _, ok := f.Environment(env); !ok {
		return inputError{fmt.Errorf("no environment %q in the fleet", env)}
	}
	n := 0
	for _, h := range f.Select(inventory.Filter{Env: env, Role: "web"}) {
		set := f.SettingsFor(h, "web")
		if set.Process != inventory.ProcessSupervisord {
			continue
		}
		section, err := deploy.SupervisorProgram(f, a, h, h.User)
		if err != nil {
			return inputError{err}
		}
		program, conf := inventory.SupervisorProgram(a.Name, set)
		if n > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "; host %s: put this in supervisord's include directory as %s.conf, then: supervisorctl -c %s update\n%s", h.Name, program, conf, section)
		n++
	}
	if n == 0 {
		return inputError{fmt.Errorf("no web host of %s says process: supervisord", env)}
	}
	return nil
}
