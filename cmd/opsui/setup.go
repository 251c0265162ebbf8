package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

func newSetupCmd(c *cli) *cobra.Command {
	var (
		tf              targetFlags
		sshf            sshFlags
		dryRun, force   bool
		file            string
		printSudoers    bool
		printSupervisor bool
		printSystemd    bool
	)
	cmd := &cobra.Command{
		Use:   "setup [APP] --env E [--host H,...] [--dry-run] [--force] | --print-sudoers|--print-supervisor|--print-systemd [--file FLEET.yaml]",
		Short: "Take bare hosts to ready for the first deploy, or print what they need",
		Long: `Without a --print flag, take the environment's hosts from bare to ready for
the app's first deploy, all at once, as the SSH user the fleet names, and
report per host in three lists: done, already right, and needs a human
(with the exact commands to run). It is idempotent: a second run says
everything is already right. Per host and role it checks and does:
- the sudoers lines the fleet's commands need there (sudo -n -l, never a
  password prompt): a missing one is named with its exact sudoers line;
- deploy_to, its releases/ and shared/, and the app's shared directories,
  created when the deploy user may (else: the command that lets it);
  shared files must be put in place by a human (shared/.env excepted when
  the app declares an env: each deploy writes it);
- web hosts of the django preset: the Python (options.python) with its
  venv module, and Django and gunicorn when the release ships no wheels/;
- process: supervisord: the program (as --print-supervisor prints it)
  installed in the include directory supervisord's configuration names,
  then supervisorctl update; process: systemd: the unit installed in
  /etc/systemd/system through sudo -n where a sudoers line allows exactly
  that install, then daemon-reload and enable; where the deploy user
  cannot, the rendered file is left in ~/.opsui-setup/ on the host with
  the commands that install it;
- lb hosts: nginx and the app's upstream file (options.upstream_file),
  written with every web host in rotation when missing; HAProxy and its
  admin socket.
A program, unit or upstream file that exists but differs from what opsui
renders is reported with a short diff and left alone, unless --force
(replacing a running supervisord program restarts it). With --dry-run
nothing on any host changes: the report says what would be done. The
hosts are the deploy's (--host, --role) and, unless those flags are
given, the environment's balancers. The run is recorded (kind setup) with
each host's report in the same words; the exit status is 1 when any host
needs a human.

With --print-sudoers, print the sudoers lines the deploy user needs on the
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
restart after a crash load the release current points at. Worker hosts
whose worker role says process: supervisord get their program too: the
worker role's options.command, started in current's path with the app's
shared/.env, stopped with TERM and stop_timeout seconds to finish.

With --print-systemd, the same for process: systemd: the service unit of
each such web host, to install as /etc/systemd/system/UNIT (then:
systemctl daemon-reload && systemctl enable --now UNIT), and of each worker
host under process: systemd.

The --print flags send nothing to any host.`,
		Example: `  opsui setup shop --env production --dry-run
  opsui setup shop --env production
  opsui setup shop --env production --host web3 --force
  opsui setup shop --env production --print-sudoers
  opsui setup shop --env production --print-supervisor
  opsui setup shop --env production --print-systemd
  opsui setup shop --env production --print-sudoers --file fleet.yaml > opsui-shop.sudoers`,
		Args: cobra.MaximumNArgs(1),
	}
	printFor := func(f *inventory.Fleet, app, env string) error {
		if printSupervisor {
			return c.printManaged(f, app, env, inventory.ProcessSupervisord)
		}
		if printSystemd {
			return c.printManaged(f, app, env, inventory.ProcessSystemd)
		}
		rules, notes, err := f.SudoRules(app, env)
		if err != nil {
			return inputError{err} // an unknown name, or a sudo reload the fleet file should not have
		}
		_, err = fmt.Fprint(c.stdout, inventory.FormatSudoers(app, env, rules, notes))
		return err
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		n := btoi(printSudoers) + btoi(printSupervisor) + btoi(printSystemd)
		switch {
		case n > 1:
			return usageError{fmt.Errorf("setup: give one of --print-sudoers, --print-supervisor and --print-systemd")}
		case n == 1 && (dryRun || force):
			return usageError{fmt.Errorf("setup: --dry-run and --force set hosts up; the --print flags only print")}
		case n == 0 && file != "":
			return usageError{fmt.Errorf("setup: --file goes with a --print flag; import the fleet file (opsui inventory import) to set its hosts up")}
		case n == 0:
			return c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
				return c.setupRun(ctx, s, &tf, &sshf, args, dryRun, force)
			})(cmd, args)
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
	sshf.registerConn(cmd)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check every host and say what would be done; change nothing")
	cmd.Flags().BoolVar(&force, "force", false, "replace a program, unit or upstream file that differs from what opsui renders")
	cmd.Flags().BoolVar(&printSudoers, "print-sudoers", false, "print the sudoers lines the deploy user needs")
	cmd.Flags().BoolVar(&printSupervisor, "print-supervisor", false, "print the supervisord program section of each web host under process: supervisord")
	cmd.Flags().BoolVar(&printSystemd, "print-systemd", false, "print the systemd service unit of each web host under process: systemd")
	cmd.Flags().StringVarP(&file, "file", "f", "", "read this fleet file instead of the stored inventory (- for stdin)")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// printManaged prints the supervisord program section or the systemd unit
// (process) of every web host of env whose role says that process, each
// after a comment saying where it goes.
func (c *cli) printManaged(f *inventory.Fleet, app, env, process string) error {
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
		if set.Process != process {
			continue
		}
		var where, text string
		var err error
		switch process {
		case inventory.ProcessSupervisord:
			text, err = deploy.SupervisorProgram(f, a, h, h.User)
			program, conf := inventory.SupervisorProgram(a.Name, set)
			where = fmt.Sprintf("; host %s: put this in supervisord's include directory as %s.conf, then: supervisorctl -c %s update", h.Name, program, conf)
		default:
			text, err = deploy.SystemdUnit(f, a, h, h.User)
			unit := inventory.SystemdUnit(a.Name, set)
			where = fmt.Sprintf("# host %s: put this in /etc/systemd/system/%s, then: systemctl daemon-reload && systemctl enable --now %s", h.Name, unit, unit)
		}
		if err != nil {
			return inputError{err}
		}
		if n > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "%s\n%s", where, text)
		n++
	}
	m, err := c.printWorkers(f, a, env, process, n) // setup_worker.go
	if err != nil {
		return err
	}
	if n+m == 0 {
		return inputError{fmt.Errorf("no web host of %s says process: %s (nor any worker host)", env, process)}
	}
	return nil
}
