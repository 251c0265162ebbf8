package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// hostsFailedError says some hosts failed; the summary was printed already.
type hostsFailedError struct{ summary string }

func (e hostsFailedError) Error() string { return e.summary }

// printedError is an error the output said already, word for word: main
// does not print it again.
type printedError struct{ error }

func (e printedError) Unwrap() error { return e.error }

// sshFlags are the connection options shared by every command that reaches hosts.
type sshFlags struct {
	acceptNew bool
	parallel  int
	timeout   time.Duration
}

func (f *sshFlags) register(cmd *cobra.Command) {
	f.registerConn(cmd)
	cmd.Flags().DurationVar(&f.timeout, "timeout", 0, "per-host command timeout (e.g. 30s; 0: none)")
}

// registerConn registers the connection flags alone, for pipelines whose
// steps carry their own timeouts.
func (f *sshFlags) registerConn(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.acceptNew, "accept-new", false, "accept and record host keys not seen before (a changed key is always refused)")
	cmd.Flags().IntVar(&f.parallel, "parallel", remote.DefaultParallel, "how many hosts run the command at once (a login stalled past 1s lends its place)")
}

// pool builds the connection pool from the user's SSH setup and the flags.
func (f *sshFlags) pool(c *cli) (*remote.Pool, remote.SSHConfig, error) {
	opts, err := remote.DefaultOptions()
	if err != nil {
		return nil, remote.SSHConfig{}, err
	}
	if f.acceptNew {
		opts.AcceptHostKey = func(_ context.Context, p remote.HostKeyPrompt) (bool, error) {
			fmt.Fprintf(c.stderr, "opsui: accepting new %s host key of %s (%s): %s\n", p.KeyType, p.Host, p.Addr, p.Fingerprint)
			return true, nil
		}
	}
	opts.Passphrase = promptPassphrase(c)
	cfg, err := remote.LoadSSHConfig(opts.SSHConfigPath)
	if err != nil {
		return nil, remote.SSHConfig{}, err
	}
	return remote.NewPool(opts), cfg, nil
}

// selector is --env/--role/--tag/--host, shared by commands that pick hosts.
type selector struct {
	flt   inventory.Filter
	hosts []string
}

func (s *selector) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.flt.Env, "env", "", "hosts of this environment")
	cmd.Flags().StringVar(&s.flt.Role, "role", "", "hosts with this role")
	cmd.Flags().StringVar(&s.flt.Tag, "tag", "", "hosts with this tag")
	cmd.Flags().StringSliceVar(&s.hosts, "host", nil, "these hosts (comma-separated or repeated)")
}

// pick returns the selected hosts (ops.Select).
func (s *selector) pick(f *inventory.Fleet) ([]inventory.Host, error) {
	flt := s.flt
	flt.Names = s.hosts
	hosts, err := ops.Select(f, flt)
	return hosts, opError(err)
}

func newExecCmd(c *cli) *cobra.Command {
	var (
		sel     selector
		ssh     sshFlags
		limit   recordLimitFlag
		asJSON  bool
		yes     bool
		confirm []string
		app     string
	)
	cmd := &cobra.Command{
		Use:   "exec [--env E] [--role R] [--host H,...] [--app APP] -- COMMAND...",
		Short: "Run a command on many hosts at once, each line prefixed with its host",
		Long: `Run a shell command on the selected hosts concurrently. Every output line is
prefixed with its host; a summary (failures first, the slowest host) ends the
output, and the exit status is 1 when any host failed. The run and each
host's output, up to the record limit (--record-limit), are recorded in the
database.

With --app, the command runs as the app's processes do: in the app's
current release (DEPLOY_TO/current) with its shared/.env loaded (set -a;
. shared/.env; set +a). The values are read by the remote shell from the
file, never put on a command line.

On hosts of a protected environment, exec shows the command and the hosts
and asks for the environment's name, as a deploy does; without a terminal
the name is given with --confirm-env (--yes alone is not enough).`,
		Example: `  opsui exec --env production --role web --confirm-env production -- uptime
  opsui exec --host web1,web2 --timeout 30s -- 'df -h /srv'
  opsui exec --env staging --role web --app shop -- ./venv/bin/python manage.py check`,
		Args: cobra.MinimumNArgs(1),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		if err := limit.apply(s); err != nil {
			return err
		}
		command := strings.Join(args, " ")
		guard := func(f *inventory.Fleet, hosts []inventory.Host) error {
			return c.confirmOnProtected(f, hosts, "exec", command, confirm, yes)
		}
		return c.runOnHosts(ctx, s, &sel, &ssh, asJSON, guard, func(svc *ops.Service, hosts []inventory.Host, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
			return svc.Exec(ctx, ops.ExecRequest{Hosts: hosts, Command: command, App: app,
				Options: remote.RunOptions{Parallel: ssh.parallel, Timeout: ssh.timeout}}, emit)
		})
	})
	sel.register(cmd)
	ssh.register(cmd)
	limit.register(cmd)
	cmd.Flags().StringVar(&app, "app", "", "run in this app's current release with its shared/.env loaded")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per event, then the result")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask (a protected environment must still be named with --confirm-env)")
	cmd.Flags().StringSliceVar(&confirm, "confirm-env", nil, "the name of each protected environment the hosts are in, as the confirmation")
	return cmd
}

// opError is an operation's error as the CLI exits with it: a request the
// operation refused before it ran is a usage error, a name the inventory
// does not have is invalid input (with the names it has).
func opError(err error) error {
	var ie *ops.InvalidError
	var unknown *ops.UnknownNameError
	switch {
	case errors.As(err, &ie):
		return usageError{err}
	case errors.As(err, &unknown):
		return inputError{err}
	}
	return err
}

// hostNamesOf returns the hosts' names, in order: the names of their targets.
func hostNamesOf(hosts []inventory.Host) []string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	return names
}

// operator names who ran something, as every record says it: user@machine
// (a team's shared store holds many laptops' runs), or $OPSUI_OPERATOR as
// it is (for a shared jump box, where the login says nothing).
func operator() string {
	if op := os.Getenv("OPSUI_OPERATOR"); op != "" {
		return op
	}
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	if machine := store.Machine(); machine != "" {
		name += "@" + machine
	}
	return name
}

// runOnHosts is what exec and cp share: the selected hosts, the
// connection pool, stale runs reaped, the operation run through a service
// with a printer, then its summary; the exit status is 1 when a host
// failed (the summary said which).
func (c *cli) runOnHosts(ctx context.Context, s *store.Store, sel *selector, ssh *sshFlags, asJSON bool,
	guard func(f *inventory.Fleet, hosts []inventory.Host) error,
	op func(svc *ops.Service, hosts []inventory.Host, emit func(remote.Event)) (remote.Result, *record.Recorder, error)) error {
	f, err := s.LoadFleet(ctx)
	if err != nil {
		return err
	}
	hosts, err := sel.pick(f)
	if err != nil {
		return err
	}
	if err := guard(f, hosts); err != nil {
		return err
	}
	pool, cfg, err := ssh.pool(c)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := s.ReapStaleRuns(ctx); err != nil {
		return err
	}
	svc := &ops.Service{Store: s, Conn: pool, SSH: cfg, Operator: operator(), Args: os.Args[1:]}
	out := newEventPrinter(c.stdout, hostNamesOf(hosts), asJSON, colorFor(c.stdout))
	res, rec, err := op(svc, hosts, out.Event)
	var recErr *ops.RecordError
	if err != nil && !errors.As(err, &recErr) {
		return opError(err)
	}
	out.Summary(res, rec.RunID())
	noteCut(c, s, rec)
	if recErr != nil {
		return fmt.Errorf("record run: %w", recErr.Err)
	}
	if res.OK != len(res.Hosts) {
		return printedError{hostsFailedError{res.Summary()}}
	}
	return nil
}
