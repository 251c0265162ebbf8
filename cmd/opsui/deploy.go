package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// inputError marks a name or ref that the command was given and that
// names nothing (an unknown app, environment, host or git ref): invalid
// input, exit status 3, as for an invalid fleet file.
type inputError struct{ error }

func (e inputError) Unwrap() error { return e.error }

// planError is an error of the service's target resolution or planning
// as the CLI exits with it: an unknown ref is invalid input (as an unknown
// name is: opError), a plan that does not check a usage error.
func planError(err error) error {
	var ue *deploy.UnknownRefError
	var pe *deploy.PlanError
	switch {
	case errors.As(err, &ue):
		return inputError{err}
	case errors.As(err, &pe):
		return usageError{err}
	}
	return opError(err)
}

// targetFlags pick the app, environment and hosts.
type targetFlags struct {
	app, env string
	role     string
	hosts    []string
}

func (f *targetFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.app, "app", "", "the app (default: the only one)")
	cmd.Flags().StringVar(&f.env, "env", "", "the environment (required when there are several)")
	cmd.Flags().StringVar(&f.role, "role", "", "only hosts with this role (default: hosts with role "+strings.Join(deploy.DeployRoles, ", ")+")")
	cmd.Flags().StringSliceVar(&f.hosts, "host", nil, "only these hosts of the environment")
}

// scope is what the flags (and an APP argument, which wins over --app)
// name.
func (f *targetFlags) scope(args []string) ops.Scope {
	sc := ops.Scope{App: f.app, Env: f.env, Role: f.role, Hosts: f.hosts}
	if len(args) > 0 {
		sc.App = args[0]
	}
	return sc
}

// target resolves the flags (and an APP argument) in the inventory
// (ops.Service.Target), with the CLI's exit statuses.
func (f *targetFlags) target(ctx context.Context, svc *ops.Service, args []string) (ops.Target, error) {
	tg, err := svc.Target(ctx, f.scope(args))
	return tg, planError(err)
}

// withTarget is withStore for a command on the flags' target: run gets
// the command's service and the target, resolved. With sshf, the service
// is connected first (its pool is closed when run returns).
func (c *cli) withTarget(tf *targetFlags, sshf *sshFlags,
	run func(ctx context.Context, svc *ops.Service, tg ops.Target) error) func(*cobra.Command, []string) error {
	return c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := c.service(s)
		tg, err := tf.target(ctx, svc, args)
		if err != nil {
			return err
		}
		if sshf != nil {
			_, done, err := c.connect(svc, sshf, tg.Hosts)
			if err != nil {
				return err
			}
			defer done()
		}
		return run(ctx, svc, tg)
	})
}

// strategyFlags are how a deploy or rollback proceeds; their values are
// parsed with the flags (deploy's flag values), never carried as text.
type strategyFlags struct {
	kind           deploy.StrategyKind
	batches        deploy.Batches
	maxFail        deploy.Count
	noAutoRollback bool
	canaryWait     time.Duration
}

func (f *strategyFlags) register(cmd *cobra.Command) {
	cmd.Flags().Var(&f.kind, "strategy", "all, rolling or canary (default: the environment's, else all)")
	cmd.Flags().Var(&f.batches, "batch", "batch sizes of a rolling or canary deploy: N, P% or a list such as 1,5,25%")
	cmd.Flags().Var(&f.maxFail, "max-fail", "failed hosts tolerated before no further batch starts: N or P% (default 0)")
	cmd.Flags().BoolVar(&f.noAutoRollback, "no-auto-rollback", false, "leave switched hosts on the new release when one fails after its switch")
	cmd.Flags().DurationVar(&f.canaryWait, "canary-wait", 0, "let the canary run this long, then continue without asking (default: ask)")
}

// strategy is the flags' strategy over the environment's default: a
// --strategy given leaves out the environment's batch size too.
func (f *strategyFlags) strategy(env inventory.Environment) deploy.Strategy {
	s := deploy.DefaultStrategy(env)
	if f.kind != "" {
		s.Kind, s.Batches = f.kind, nil
	}
	if len(f.batches) > 0 {
		s.Batches = f.batches
	}
	s.MaxFail, s.AutoRollback, s.CanaryWait = f.maxFail, !f.noAutoRollback, f.canaryWait
	return s
}

func newDeployCmd(c *cli) *cobra.Command {
	var (
		tf          targetFlags
		sf          strategyFlags
		sshf        sshFlags
		ref         string
		dryRun, yes bool
		resume      int64
		allowBreak  bool
		maintenance bool
		breakGlass  string
		watch       time.Duration
		// deploy --maintenance's answer
		maintMessage string
		maintRetry   time.Duration
	)
	var noBuildCache bool
	cmd := &cobra.Command{
		Use:   "deploy [APP] --env E [--ref REF]",
		Short: "Deploy a commit of an app to an environment",
		Long: `Cut a release once from a commit of the app's git repository (git archive),
ship it to every host of the environment at once, run the app's stages, switch
current atomically batch by batch, reload, check that each host serves the new
release, and clean up old releases. One deploy per app and environment at a
time: the hosts are locked, all or nothing. Every release is recorded.`,
		Example: `  opsui deploy shop --env staging --ref main
  opsui deploy shop --env production --ref v2.4.1 --strategy rolling --batch 1,25%
  opsui deploy shop --env production --ref main --dry-run
  opsui deploy --resume 42`,
		Args: cobra.MaximumNArgs(1),
	}
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if watch < 0 || watch > time.Hour {
			return usageError{fmt.Errorf("--watch %s: want a duration from 0 (no watch) to 1h", watch)}
		}
		if (cmd.Flags().Changed("maintenance-message") || cmd.Flags().Changed("maintenance-retry-after")) && !maintenance {
			return usageError{errors.New("--maintenance-message and --maintenance-retry-after go with --maintenance")}
		}
		if maintenance {
			if err := deploy.DeployMaintenance(maintMessage, maintRetry).Check(); err != nil {
				return usageError{fmt.Errorf("--maintenance: %w", err)}
			}
		}
		return nil
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := c.service(s)
		var resumed *store.Release
		if resume != 0 {
			r, err := svc.Resumable(ctx, resume)
			if err != nil {
				return err
			}
			tf.app, tf.env, ref, resumed = r.App, r.Env, r.Commit, &r
		}
		tg, err := tf.target(ctx, svc, args)
		if err != nil {
			return err
		}
		c.reportStale(ctx, s, tg.App.Name, tg.Env.Name)
		p, err := svc.PlanDeploy(ctx, ops.DeployRequest{Target: tg, Ref: ref, Strategy: sf.strategy(tg.Env), Resume: resumed})
		if err != nil {
			return planError(err)
		}
		for _, w := range svc.DeployWarnings(ctx, p) { // the shared history: a teammate's deploy, a commit rolled back before
			fmt.Fprintf(c.stderr, "opsui: warning: %s\n", w)
		}
		src := p.Source
		if src.Dirty {
			fmt.Fprintf(c.stderr, "opsui: warning: %s has uncommitted changes; only commit %s is shipped\n", tg.App.Repo, deploy.ShortCommit(src.Commit))
		}
		cur, curErr := s.LatestRelease(ctx, tg.App.Name, tg.Env.Name, true)
		p.AllowBreakingMigrations, p.BreakGlass = allowBreak, strings.TrimSpace(breakGlass)
		p.NoBuildCache = noBuildCache
		p.Maintenance, p.MaintenanceMessage, p.MaintenanceRetryAfter = maintenance, maintMessage, maintRetry
		if cmd.Flags().Changed("watch") {
			p.Watch = &watch
		}
		if cmd.Flags().Changed("break-glass") && p.BreakGlass == "" {
			return usageError{errors.New("--break-glass needs a reason: it is recorded and sent to the app's webhooks")}
		}
		if err := svc.CheckFreeze(ctx, tg.Env.Name, time.Now()); err != nil && p.BreakGlass == "" {
			if dryRun {
				fmt.Fprintf(c.stdout, "%v\n", err)
			} else {
				return err
			}
		}
		if dryRun {
			p.Describe(c.stdout)
			var newFiles []string
			if curErr == nil {
				newFiles, _ = deploy.NewMigrationFiles(ctx, tg.App.Repo, cur.Commit, src.Commit) // none known: none listed
			}
			return c.printMigrationCheck(ctx, svc, &sshf, p, curErr == nil, newFiles)
		}
		if p.Strategy.Kind == deploy.StrategyCanary && p.Strategy.CanaryWait == 0 && !isTTY(c.stdin) {
			return usageError{errors.New("a canary deploy waits for a go-ahead: run it on a terminal, or give --canary-wait")}
		}
		if curErr == nil && cur.Commit == src.Commit && resume == 0 {
			q := fmt.Sprintf("%s already runs %s (release %s) on %s. Deploy it again?", tg.App.Name, deploy.ShortCommit(src.Commit), cur.ReleaseID, tg.Env.Name)
			if err := c.confirm(q, yes); err != nil {
				return err
			}
		}
		if tg.Env.Protected {
			if err := c.typedConfirm(tg.Env.Name, yes); err != nil {
				return err
			}
		}
		fmt.Fprintf(c.stderr, "opsui: deploying %s %s (%s%s) to %s as release %s\n", tg.App.Name, deploy.ShortCommit(src.Commit), src.Subject,
			branchNote(src.RefName()), tg.Env.Name, p.ReleaseID)
		io, done, err := c.connect(svc, &sshf, tg.Hosts)
		if err != nil {
			return err
		}
		defer done()
		if p.Strategy.Kind == deploy.StrategyCanary && p.Strategy.CanaryWait > 0 {
			io.Confirm = nil // the wait decides, not a prompt
		}
		io.Watch = watchPrinter(io.Say)
		out, err := svc.Deploy(ctx, p, io)
		done()
		return c.report(out, err)
	})
	tf.register(cmd)
	sf.register(cmd)
	sshf.registerConn(cmd)
	cmd.Flags().StringVar(&ref, "ref", "", "branch, tag or commit to deploy (default: the repository's HEAD)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the plan (batches, steps, commands) and change nothing")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmations (a protected environment's included)")
	cmd.Flags().BoolVar(&maintenance, "maintenance", false, "put the site in maintenance (every balancer answers 503) from the migration to the last switch; lets breaking migrations through")
	cmd.Flags().StringVar(&maintMessage, "maintenance-message", "", "with --maintenance: what the balancers answer (default: a new release is being deployed, back in a few minutes)")
	cmd.Flags().DurationVar(&maintRetry, "maintenance-retry-after", 0, fmt.Sprintf("with --maintenance: the Retry-After header, whole seconds (default %s)", deploy.DefaultRetryAfter))
	cmd.Flags().BoolVar(&allowBreak, "allow-breaking-migrations", false, "let a rolling or canary deploy run migrations that break the old code still serving (the check's verdict is recorded either way)")
	cmd.Flags().StringVar(&breakGlass, "break-glass", "", "deploy inside a freeze window for this reason (recorded with your name, sent to the app's webhooks, shown in releases)")
	cmd.Flags().DurationVar(&watch, "watch", 0, "watch each batch's hosts' logs this long after its switch, against a baseline read before the first (default: the app's watch:; 0 turns it off)")
	cmd.Flags().BoolVar(&noBuildCache, "no-build-cache", false, "run the app's build: even when the artifact of this commit and build is cached (the new one replaces it)")
	cmd.Flags().Int64Var(&resume, "resume", 0, "finish the release of this deploy run on the hosts that did not complete it")
	return cmd
}

// service is the operations service of a command on s: its runs are
// recorded as the operator's, with the command line. connect gives it
// the hosts.
func (c *cli) service(s *store.Store) *ops.Service {
	return &ops.Service{Store: s, Operator: operator(), Args: os.Args[1:]}
}

// connect gives svc a pool (and its SSH setup and parallelism) built from
// the flags, and returns the IO of an operation on hosts: their events
// printed, the operation's messages on standard error, and its questions
// asked on the terminal (none without one). done flushes the printer and
// closes the pool; it may be called more than once.
func (c *cli) connect(svc *ops.Service, sshf *sshFlags, hosts []inventory.Host) (ops.IO, func(), error) {
	pool, cfg, err := sshf.pool(c)
	if err != nil {
		return ops.IO{}, nil, err
	}
	svc.Conn, svc.SSH, svc.Parallel = pool, cfg, sshf.parallel
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name
	}
	printer := newEventPrinter(c.stdout, names, false, colorFor(c.stdout))
	io := ops.IO{Emit: printer.Event, Say: func(msg string) {
		printer.Flush() // keep the messages in order with the hosts' lines
		fmt.Fprintf(c.stderr, "opsui: %s\n", msg)
	}}
	if isTTY(c.stdin) {
		io.Confirm = func(ctx context.Context, q string) (bool, error) { return c.ask(q) == nil, nil }
	}
	var once sync.Once
	return io, func() {
		once.Do(func() {
			printer.Flush()
			pool.Close()
		})
	}, nil
}

// printHostOutcomes prints the hosts of an outcome that failed, each with
// its reason and last lines ("1 of 2 hosts did not complete release R:"),
// then those that went through ("ok on 1 host: web1").
func printHostOutcomes(w io.Writer, out *deploy.Outcome, failedWhat, okWhat string) {
	if failed := out.Failed(); len(failed) > 0 {
		fmt.Fprintf(w, "\n%d of %s %s:\n", len(failed), deploy.Plural(len(out.Hosts), "host", "hosts"), failedWhat)
		for _, h := range failed {
			fmt.Fprintf(w, "  %s: %s\n", h.Host, h.Words())
			for _, l := range h.Tail {
				fmt.Fprintf(w, "      %s\n", l)
			}
		}
	}
	var ok []string
	for _, h := range out.Hosts {
		if h.Status == deploy.HostOK {
			ok = append(ok, h.Host)
		}
	}
	if len(ok) > 0 {
		fmt.Fprintf(w, "\n%s %s: %s\n", okWhat, deploy.Plural(len(ok), "host", "hosts"), strings.Join(ok, ", "))
	}
}

// report prints a deploy's or rollback's outcome, failures first, and
// turns it into the command's error.
func (c *cli) report(out *deploy.Outcome, err error) error {
	if out == nil {
		return err
	}
	w := c.stdout
	printHostOutcomes(w, out, "did not complete release "+out.ReleaseID, "ok on")
	for _, n := range out.Notes {
		if slices.Contains(out.Warnings, n) {
			continue // said below, as a warning
		}
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, n := range out.Warnings {
		fmt.Fprintf(w, "%s\n", n)
	}
	fmt.Fprintf(w, "release %s: %s; took %s (%s); run %d\n", out.ReleaseID, out.Words(), out.Timing.Total.Round(time.Millisecond),
		phasesText(out), out.RunID)
	if err != nil {
		return err
	}
	if out.Result != store.ReleaseSuccess {
		return hostsFailedError{fmt.Sprintf("release %s: %s", out.ReleaseID, out.Result.Words())}
	}
	if len(out.Warnings) > 0 {
		return hostsFailedError{fmt.Sprintf("release %s: %s, but %d balancer steps failed: check the balancers (opsui lb restore)",
			out.ReleaseID, out.Result, len(out.Warnings))}
	}
	return nil
}

// phasesText splits an outcome's time into the phases its kind has: a
// rollback cuts, uploads and prepares nothing, a migration only locks and
// migrates.
func phasesText(out *deploy.Outcome) string {
	t := out.Timing
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	switch out.Kind {
	case store.KindRollback:
		return fmt.Sprintf("lock %s, switch+verify %s", ms(t.Lock), ms(t.Activate))
	case store.KindMigrate:
		return fmt.Sprintf("lock %s, migrate %s", ms(t.Lock), ms(t.Activate))
	case store.KindConfig:
		return fmt.Sprintf("lock %s, env+reload+verify %s", ms(t.Lock), ms(t.Activate))
	}
	return fmt.Sprintf("artifact %s, lock %s, upload %s, prepare %s, switch+verify %s",
		ms(t.Artifact), ms(t.Lock), ms(t.Upload), ms(t.Prepare), ms(t.Activate))
}

// reportStale marks runs whose process died as interrupted and reports
// the locks they left.
func (c *cli) reportStale(ctx context.Context, s *store.Store, app, env string) {
	if n, err := s.ReapStaleRuns(ctx); err == nil && n > 0 {
		fmt.Fprintf(c.stderr, "opsui: %d runs whose opsui process died are marked interrupted, with their releases (finish one with opsui deploy --resume RUN)\n", n)
	}
	locks, err := s.OpenLocks(ctx, app, env)
	if err != nil {
		return
	}
	for _, l := range locks {
		if !l.RunID.Valid {
			continue
		}
		if r, err := s.Run(ctx, l.RunID.Int64); err == nil && r.Result == store.RunInterrupted {
			fmt.Fprintf(c.stderr, "opsui: the deploy lock of %s/%s taken by %s@%s for run %d was left behind when that run was interrupted; "+
				"break it with `opsui unlock --app %s --env %s` once you know nobody deploys\n", l.App, l.Env, l.Operator, l.Machine, l.RunID.Int64, l.App, l.Env)
		}
	}
}

// branchNote names the ref of a deploy as the release record does:
// ", branch main", ", tag v1", or nothing for a bare commit.
func branchNote(ref string) string {
	switch {
	case ref == "":
		return ""
	case strings.HasPrefix(ref, "tag "):
		return ", " + ref
	}
	return ", branch " + ref
}

// confirm asks a yes/no question on the terminal (default No); --yes
// answers it. Without a terminal it asks nothing: see notATerminal.
func (c *cli) confirm(q string, yes bool) error {
	if yes {
		return nil
	}
	if !isTTY(c.stdin) {
		return notATerminal(q)
	}
	return c.ask(q)
}

// notATerminal is the one answer to a confirmation when standard input is
// not a terminal (a pipe, a file, /dev/null) and --yes was not given: a
// usage error (exit status 2), before any prompt is printed.
func notATerminal(what string) error {
	return usageError{fmt.Errorf("%s: confirm on a terminal or pass --yes (standard input is not a terminal)", what)}
}

func (c *cli) ask(q string) error {
	fmt.Fprintf(c.stderr, "%s [y/N] ", q)
	if ans := readLine(c.stdin); ans != "y" && ans != "yes" {
		return errors.New("not confirmed: nothing was changed")
	}
	return nil
}

// typedConfirm asks for the protected environment's name to be typed.
func (c *cli) typedConfirm(env string, yes bool) error {
	if yes {
		return nil
	}
	if !isTTY(c.stdin) {
		return notATerminal(env + " is protected")
	}
	fmt.Fprintf(c.stderr, "%s is a protected environment. Type its name to continue: ", env)
	if readLine(c.stdin) != env {
		return errors.New("the name did not match: nothing was changed")
	}
	return nil
}

func readLine(r io.Reader) string {
	var b []byte
	buf := make([]byte, 1)
	for {
		n, err := r.Read(buf)
		if n == 1 {
			if buf[0] == '\n' {
				break
			}
			b = append(b, buf[0])
		}
		if err != nil {
			break
		}
	}
	return strings.TrimSpace(string(b))
}

// isTTY reports whether r is a terminal. A character device is not
// enough: /dev/null is one, and reading a confirmation from it fails
// after the prompt.
func isTTY(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}
