package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/demofleet"
	"github.com/opsui/opsui/ops/deploy"
)

type demoFlags struct {
	dir    string
	keep   bool
	stop   bool
	serve  bool
	host   string // --serve-host: the process of one host of the fleet
	noWait bool   // --no-console: set up, deploy, then stop (for scripts)
}

func newDemoCmd(c *cli) *cobra.Command {
	var f demoFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Bring up a local demo fleet and open the console on it",
		Long: `demo brings up a demo fleet on this machine and opens the console on it.

Ten hosts (two web, a db, a cache and a load balancer in staging and in
production) are SSH servers on loopback addresses that run real commands,
each in its own directory under the demo directory. The web hosts serve a
small Django app with gunicorn behind nginx on the lb hosts, the cache
hosts run memcached, and a trickle of requests keeps the logs growing. The
app's first commit is deployed before the console opens.

The demo has its own database, fleet file and known_hosts in the demo
directory (a temporary one unless --dir is given); your own opsui database
and ~/.ssh are never used. Quitting the console stops everything: no
process and no listening port is left. With --keep the fleet stays up for
the CLI; opsui demo --stop --dir DIR stops it.

Each host is a process of its own: opsui demo fault HOST down|hang|slow|ok
stops one, hangs it, slows it or brings it back, to see how the console
shows a host in trouble. The app's last commit ("break health check")
raises on /health/: deploying it fails its health check, and the Django
traceback lands in the logs view's top errors.`,
		Example: `  opsui demo
  opsui demo --keep --dir /tmp/opsui-demo
  /tmp/opsui-demo/opsui deploy shop --env staging --ref main
  /tmp/opsui-demo/opsui demo fault web2 down
  opsui demo --stop --dir /tmp/opsui-demo`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case f.host != "":
				if f.dir == "" {
					return usageError{errors.New("--serve-host needs --dir")}
				}
				return demofleet.ServeHostProcess(cmd.Context(), f.dir, f.host)
			case f.serve:
				if f.dir == "" {
					return usageError{errors.New("--serve needs --dir")}
				}
				return serveDemo(cmd.Context(), f.dir, !f.keep)
			case f.stop:
				if f.dir == "" {
					return usageError{errors.New("--stop needs --dir: the directory of the demo to stop")}
				}
				return stopDemo(cmd.Context(), c, f.dir)
			}
			return c.runDemo(cmd.Context(), f)
		},
	}
	cmd.Flags().StringVar(&f.dir, "dir", "", "the demo's directory (default: a new temporary one, removed when the demo stops)")
	cmd.Flags().BoolVar(&f.keep, "keep", false, "leave the fleet running after setting it up, for the CLI; do not open the console")
	cmd.Flags().BoolVar(&f.stop, "stop", false, "stop the demo running in --dir")
	cmd.Flags().BoolVar(&f.noWait, "no-console", false, "set up and deploy, then stop without opening the console")
	cmd.Flags().BoolVar(&f.serve, "serve", false, "serve the fleet in the foreground (what opsui demo starts in the background)")
	cmd.Flags().MarkHidden("serve")
	cmd.Flags().StringVar(&f.host, "serve-host", "", "serve one host of the fleet in the foreground (what the fleet starts for each host)")
	cmd.Flags().MarkHidden("serve-host")
	cmd.AddCommand(newDemoFaultCmd(c))
	return cmd
}

// runDemo starts the fleet in the background, deploys the app's first
// commit to both environments, then opens the console (or, with --keep,
// says how to use the fleet) and stops the fleet when the console quits.
func (c *cli) runDemo(ctx context.Context, f demoFlags) (err error) {
	dir, temp := f.dir, f.dir == ""
	if temp {
		if dir, err = os.MkdirTemp("", "opsui-demo-"); err != nil {
			return fmt.Errorf("demo directory: %w", err)
		}
	} else if dir, err = filepath.Abs(dir); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	} else if err = os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	if err := checkDemoDir(dir); err != nil {
		return err
	}
	if pid, ok := runningDemo(dir); ok {
		return fmt.Errorf("a demo already runs in %s (pid %d): opsui demo --stop --dir %s", dir, pid, dir)
	}
	fmt.Fprintf(c.stdout, "opsui demo: starting 10 hosts in %s\n", dir)
	srv, err := startDemoServer(ctx, dir, !f.keep)
	if err != nil {
		return err
	}
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		err := srv.stop()
		if temp && err == nil {
			os.RemoveAll(dir)
		}
		return err
	}
	defer func() {
		if err != nil || !f.keep {
			if serr := stop(); serr != nil {
				err = errors.Join(err, serr)
			} else if err == nil {
				fmt.Fprintln(c.stdout, "opsui demo: stopped; no demo process or port is left")
			}
		}
	}()
	if err := initialDeploy(ctx, c, dir); err != nil {
		return err
	}
	switch {
	case f.keep:
		printDemoUsage(c.stdout, dir)
		return nil
	case f.noWait:
		return nil
	}
	return runDemoConsole(dir)
}

// demoServer is the background process serving the fleet.
type demoServer struct {
	cmd      *exec.Cmd
	dir      string
	lifeline *os.File // our end of its lifeline, or nil with --keep
	done     chan struct{}
	waitErr  error
}

// startDemoServer starts `opsui demo --serve` in its own session (a
// terminal's ctrl+c reaches the console, not the fleet) and waits until
// its fleet is up.
func startDemoServer(ctx context.Context, dir string, lifeline bool) (*demoServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(dir, demofleet.LogFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("demo log: %w", err)
	}
	defer logf.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	defer readyR.Close()
	args := []string{"demo", "--serve", "--dir", dir}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{readyW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	s := &demoServer{cmd: cmd, dir: dir, done: make(chan struct{})}
	var lifeR *os.File
	if lifeline {
		if lifeR, s.lifeline, err = os.Pipe(); err != nil {
			readyW.Close()
			return nil, fmt.Errorf("demo: %w", err)
		}
		cmd.ExtraFiles = append(cmd.ExtraFiles, lifeR)
	} else {
		cmd.Args = append(cmd.Args, "--keep")
	}
	err = cmd.Start()
	readyW.Close()
	if lifeR != nil {
		lifeR.Close()
	}
	if err != nil {
		if s.lifeline != nil {
			s.lifeline.Close()
		}
		return nil, fmt.Errorf("start the demo fleet: %w", err)
	}
	go func() { s.waitErr = cmd.Wait(); close(s.done) }()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(readyR).ReadString('\n')
		line <- strings.TrimSpace(l)
	}()
	select {
	case l := <-line:
		if l == "ok" {
			return s, nil
		}
		s.stop()
		if l == "" {
			l = "it exited"
		}
		return nil, fmt.Errorf("the demo fleet did not start: %s (see %s)", strings.TrimPrefix(l, "error: "),
			filepath.Join(dir, demofleet.LogFile))
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop asks the fleet to stop and waits until it has.
func (s *demoServer) stop() error {
	if s.lifeline != nil {
		s.lifeline.Close()
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(2 * time.Minute):
		s.cmd.Process.Kill()
		<-s.done
		return errors.New("the demo fleet did not stop within 2 minutes: killed")
	}
	var ee *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &ee) {
		return fmt.Errorf("demo fleet: %w", s.waitErr)
	}
	return killLeftovers(s.dir)
}

// killLeftovers kills what is left of the demo in dir (nothing, unless its
// fleet process died without cleaning up) and says whether it had to.
func killLeftovers(dir string) error {
	left := demofleet.Leftovers(dir, demofleet.PidFiles(dir))
	if len(left) == 0 {
		return nil
	}
	demofleet.KillAll(left, 3*time.Second)
	if still := demofleet.Leftovers(dir, demofleet.PidFiles(dir)); len(still) > 0 {
		return fmt.Errorf("demo processes %v are still running after SIGKILL", still)
	}
	return nil
}

// runningDemo returns the pid of the process serving the demo in dir, if
// one runs: the pid file's pid, when its command line is that server's.
func runningDemo(dir string) (int, bool) {
	b, err := os.ReadFile(filepath.Join(dir, demofleet.PidFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || !isDemoServer(pid, dir) {
		return 0, false
	}
	return pid, true
}

// stopDemo stops the demo kept running in dir, then kills anything of it
// still running (its server may have been killed without cleaning up).
func stopDemo(ctx context.Context, c *cli, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	if err := checkDemoDir(dir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, demofleet.FleetFile)); err != nil {
		return fmt.Errorf("%s is not a demo directory: %w", dir, err)
	}
	pid, ok := runningDemo(dir)
	if b, err := os.ReadFile(filepath.Join(dir, demofleet.PidFile)); err == nil && !ok {
		fmt.Fprintf(c.stdout, "opsui demo: %s names pid %s, which is not this demo's server: not signalled\n",
			demofleet.PidFile, strings.TrimSpace(string(b)))
	}
	if ok {
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("stop the demo server (pid %d): %w", pid, err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for isDemoServer(pid, dir) && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	if err := killLeftovers(dir); err != nil {
		return err
	}
	os.Remove(filepath.Join(dir, demofleet.PidFile))
	fmt.Fprintf(c.stdout, "opsui demo: the demo in %s is stopped; no demo process is left\n", dir)
	return nil
}

// initialDeploy deploys the app's first commit to both environments at
// once, with the opsui CLI on the demo, so the console opens on releases
// and healthy hosts. Each deploy's output is in the demo directory.
func initialDeploy(ctx context.Context, c *cli, dir string) error {
	repo := demofleet.RepoHash(dir, demoapp.CommitInitial)
	if repo == "" {
		return errors.New("demo app: no initial commit")
	}
	envs := []string{"staging", "production"}
	errs := make([]error, len(envs))
	var wg sync.WaitGroup
	fmt.Fprintf(c.stdout, "opsui demo: deploying %s (%s) to staging and production\n", deploy.ShortCommit(repo), demoapp.CommitInitial)
	start := time.Now()
	for i, env := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logPath := filepath.Join(dir, "deploy-"+env+".log")
			errs[i] = demoCLI(ctx, dir, logPath, "deploy", demofleet.App, "--env", env, "--ref", repo, "--yes")
			if errs[i] != nil {
				errs[i] = fmt.Errorf("initial deploy to %s: %w (see %s)", env, errs[i], logPath)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "opsui demo: deployed in %s\n", time.Since(start).Round(100*time.Millisecond))
	return nil
}

// demoCLI runs opsui args on the demo, its output to logPath.
func demoCLI(ctx context.Context, dir, logPath string, args ...string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	out, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = demoEnviron(dir)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = out, out, nil
	cmd.WaitDelay = 10 * time.Second
	return cmd.Run()
}

// runDemoConsole runs the console on the demo in the terminal until it
// quits. ctrl+c is the console's: this process ignores it meanwhile.
func runDemoConsole(dir string) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	cmd := exec.Command(exe)
	cmd.Env = demoEnviron(dir)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 130 {
			return nil
		}
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// printDemoUsage says how to use a kept demo from the CLI.
func printDemoUsage(w io.Writer, dir string) {
	q := func(s string) string { return strconv.Quote(s) }
	fmt.Fprintf(w, `
The demo fleet runs in %[1]s (its log: %[2]s).

Use opsui on it with the wrapper, which sets the demo's database and
known_hosts and leaves your ~/.ssh alone:

  %[3]s                                   # the console
  %[3]s deploy shop --env staging --ref main~2
  %[3]s rollback shop --env staging --yes

or, in this shell:

  export OPSUI_DB=%[4]s XDG_DATA_HOME=%[5]s

Break a host to see it in the console (down, hang, slow; ok repairs):

  %[3]s demo fault web2 down

Stop it with:

  opsui demo --stop --dir %[1]s
`, dir, filepath.Join(dir, demofleet.LogFile), filepath.Join(dir, "opsui"),
		q(filepath.Join(dir, demofleet.DBFile)), q(filepath.Join(dir, demofleet.DataHome)))
}
