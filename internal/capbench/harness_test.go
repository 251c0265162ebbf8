package capbench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Where each side deploys on every host, under the login home, and the
// port its gunicorn listens on (on the host's own address).
const (
	opsuiTree = "srv/opsui"
	capTree   = "srv/cap"
	opsuiPort = 8000
	capPort   = 8001
)

// deployTimeout bounds one deploy of one tool: a hung host fails the round
// instead of the whole benchmark.
const deployTimeout = 10 * time.Minute

// capPath is Debian's cap (package capistrano).
const capPath = "/usr/bin/cap"

// rig is one fleet with the demo app, opsui's store and inventory, and
// Capistrano's project directory, ready to deploy with either tool.
type rig struct {
	t       testing.TB
	fleet   *sshtest.Fleet
	repo    string // the demo app's repository
	workers int

	// opsui
	st      *store.Store
	inv     *inventory.Fleet
	app     inventory.App
	env     inventory.Environment
	targets map[string]remote.Target

	// Capistrano
	capDir string   // copy of testdata/cap, with servers.txt
	capEnv []string // its CAPBENCH_* variables

	check     *remote.Pool // untimed: the checks after each round
	round     int          // commits made
	capRuns   int          // Capistrano deploys run
	opsuiRuns int          // opsui deploys logged
}

// needTools skips (or, with OPSUI_TEST_REQUIRE_SSHD=1 or strict, fails)
// without Capistrano, Django, gunicorn and curl.
func needTools(t testing.TB, strict bool) {
	t.Helper()
	webtest.RequireDjango(t)
	testenv.RequireFile(t, webtest.GunicornPath, "gunicorn")
	testenv.RequireProgram(t, "curl", "curl")
	if _, err := os.Stat(capPath); err != nil {
		if strict {
			t.Fatalf("%s missing: run scripts/install-deps.sh --bench (Debian package capistrano)", capPath)
		}
		t.Skipf("%s missing: run scripts/install-deps.sh --bench (Debian package capistrano)", capPath)
	}
}

// newRig starts n hosts and prepares both tools for them; nothing is
// deployed yet.
func newRig(t testing.TB, n, workers int) *rig {
	t.Helper()
	opts := []sshtest.Option{sshtest.WithMaxSessions(64)}
	if v := os.Getenv(EnvRTT); v != "" {
		rtt, err := time.ParseDuration(v)
		if err != nil || rtt < 0 {
			t.Fatalf("%s=%q: want a duration such as 20ms", EnvRTT, v)
		}
		opts = append(opts, sshtest.WithLatency(rtt))
	}
	f := sshtest.Start(t, n, opts...)
	if !f.Isolated {
		t.Skip("capbench needs isolated hosts (each its own home and processes): run as root")
	}
	ctx := context.Background()
	r := &rig{t: t, fleet: f, workers: workers, targets: map[string]remote.Target{}}
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	r.repo = repo.Dir
	// The newest demo commit breaks /health/ on purpose: start from the one
	// before it, and add a commit per round on top.
	r.git("reset", "-q", "--hard", repo.Hash(demoapp.CommitGreeting))

	r.st, err = store.Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.st.Close() })
	r.env = inventory.Environment{Name: "bench"}
	if v := os.Getenv(EnvStatic); v != "" && !slices.Contains(inventory.StaticModes, v) {
		t.Fatalf("%s=%q: want one of %v", EnvStatic, v, inventory.StaticModes)
	}
	r.app = inventory.App{Name: "shop", Repo: r.repo, DeployTo: f.LoginHome + "/" + opsuiTree, KeepReleases: 5,
		Preset: deploy.PresetDjango, Shared: []string{"logs/"}, Static: os.Getenv(EnvStatic),
		Migrate: "./venv/bin/python manage.py migrate --noinput",
		Health: &inventory.HealthCheck{URL: fmt.Sprintf("http://127.0.0.1:%d/health/", opsuiPort), Expect: "commit=$COMMIT",
			Retries: 120, Deadline: inventory.Duration(2 * time.Minute)}}
	r.inv = &inventory.Fleet{Environments: []inventory.Environment{r.env}, Apps: []inventory.App{r.app}}
	var addrs []string
	var ports []int
	for _, h := range f.Hosts {
		bind := net.JoinHostPort(h.Addr, strconv.Itoa(opsuiPort))
		r.inv.Hosts = append(r.inv.Hosts, inventory.Host{Name: h.Name, Address: h.Addr, Port: h.Port, Env: r.env.Name,
			Roles: []string{"web"}, Settings: map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + bind + "/health/",
				Options: map[string]string{"bind": bind, "workers": strconv.Itoa(workers)}}}})
		r.targets[h.Name] = remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}}
		addrs, ports = append(addrs, h.Addr), append(ports, h.Port)
	}

	r.capDir = filepath.Join(t.TempDir(), "cap")
	if err := os.CopyFS(r.capDir, os.DirFS("testdata/cap")); err != nil {
		t.Fatal(err)
	}
	servers := filepath.Join(r.capDir, "servers.txt")
	if err := os.WriteFile(servers, []byte(ServersFile(addrs, ports)), 0o644); err != nil {
		t.Fatal(err)
	}
	r.capEnv = []string{
		"CAPBENCH_REPO=" + r.repo,
		"CAPBENCH_DEPLOY_TO=" + f.LoginHome + "/" + capTree,
		"CAPBENCH_TMP_DIR=" + f.LoginHome + "/.capbench-tmp",
		"CAPBENCH_PORT=" + strconv.Itoa(capPort),
		"CAPBENCH_WORKERS=" + strconv.Itoa(workers),
		"CAPBENCH_SERVERS=" + servers,
		"CAPBENCH_USER=" + f.User,
		"CAPBENCH_KEY=" + f.ClientKeyPath,
		"CAPBENCH_KNOWN_HOSTS=" + f.KnownHostsPath,
	}
	r.check = remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}})
	t.Cleanup(func() { r.check.Close() })
	return r
}

// git runs git in the app's repository, isolated from the user's and the
// system's configuration, and returns its trimmed output.
func (r *rig) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.repo}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newCommit commits a change to a static file (collectstatic has new work)
// and returns its hash.
func (r *rig) newCommit() string {
	r.t.Helper()
	r.round++
	p := filepath.Join(r.repo, "shop", "static", "shop", "round.txt")
	if err := os.WriteFile(p, []byte(fmt.Sprintf("round %d at %s\n", r.round, time.Now().UTC().Format(time.RFC3339Nano))), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", fmt.Sprintf("capbench round %d", r.round))
	return r.git("rev-parse", "HEAD")
}

// cpuTime is the user and system time of this process and its waited-for
// children (git archive) so far.
func cpuTime() time.Duration {
	var self, kids syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &kids)
	tv := func(t syscall.Timeval) time.Duration { return time.Duration(t.Nano()) }
	return tv(self.Utime) + tv(self.Stime) + tv(kids.Utime) + tv(kids.Stime)
}

// deployOpsui deploys main with ops/deploy as `opsui deploy` does: resolve
// the ref, plan (strategy all), deploy over a new connection pool. It
// returns the wall time, the client CPU, the outcome and its error.
func (r *rig) deployOpsui(ctx context.Context) (time.Duration, time.Duration, *deploy.Outcome, error) {
	ctx, cancel := context.WithTimeout(ctx, deployTimeout)
	defer cancel()
	pool := remote.NewPool(remote.Options{KnownHostsFiles: []string{r.fleet.KnownHostsPath}})
	defer pool.Close()
	cpu0, start := cpuTime(), time.Now()
	src, err := deploy.Resolve(ctx, r.repo, "main")
	if err != nil {
		return 0, 0, nil, err
	}
	last := ""
	if rs, err := r.st.ListReleases(ctx, r.app.Name, r.env.Name, 1); err == nil && len(rs) > 0 {
		last = rs[0].ReleaseID
	}
	p, err := deploy.NewPlan(r.inv, r.app, r.env, r.inv.Hosts, src, deploy.NewReleaseID(time.Now(), last), deploy.Strategy{Kind: deploy.StrategyAll})
	if err != nil {
		return 0, 0, nil, err
	}
	if kg, err := r.st.LatestRelease(ctx, r.app.Name, r.env.Name, true); err == nil {
		p.KnownGood = kg.ReleaseID
	}
	d := &deploy.Deployer{Conn: pool, Store: r.st, Targets: r.targets, Operator: "capbench", Machine: "capbench"}
	var events *eventLog
	if dir := os.Getenv(EnvLogDir); dir != "" {
		events = &eventLog{start: start}
		d.Emit, d.Say = events.emit, events.say
	}
	out, err := d.Deploy(ctx, p)
	wall, cpu := time.Since(start), cpuTime()-cpu0
	if events != nil {
		r.opsuiRuns++
		name := filepath.Join(os.Getenv(EnvLogDir), fmt.Sprintf("opsui-hosts%d-%02d.log", len(r.fleet.Hosts), r.opsuiRuns))
		if werr := os.WriteFile(name, events.bytes(), 0o644); werr != nil {
			r.t.Logf("keeping opsui's events: %v", werr)
		}
	}
	if err == nil && out.Result != store.ReleaseSuccess {
		var why []string
		for _, h := range out.Failed() {
			why = append(why, fmt.Sprintf("%s: %s at %s: %v\n  %s", h.Host, h.Status, h.Step, h.Err, strings.Join(h.Tail, "\n  ")))
		}
		err = fmt.Errorf("opsui deploy %s: %s\n%s", out.ReleaseID, out.Result, strings.Join(why, "\n"))
	}
	return wall, cpu, out, err
}

// deployCap runs `cap production deploy` in the Capistrano project and
// returns its wall time and CPU (the ruby process: sshkit runs every
// session in it).
func (r *rig) deployCap(ctx context.Context) (time.Duration, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, deployTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, capPath, "production", "deploy")
	cmd.Dir = r.capDir
	cmd.Env = append(os.Environ(), r.capEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	r.capRuns++
	if dir := os.Getenv(EnvLogDir); dir != "" {
		// Airbrussh's output times every command: where Capistrano's time goes.
		name := filepath.Join(dir, fmt.Sprintf("cap-hosts%d-%02d.log", len(r.fleet.Hosts), r.capRuns))
		if werr := os.WriteFile(name, out.Bytes(), 0o644); werr != nil {
			r.t.Logf("keeping Capistrano's output: %v", werr)
		}
	}
	if err != nil {
		return wall, 0, fmt.Errorf("cap production deploy: %w\n%s", err, tail(out.String(), 40))
	}
	st := cmd.ProcessState
	return wall, st.UserTime() + st.SystemTime(), nil
}

// eventLog keeps opsui's stages, exits and messages with the time since
// the deploy began: where opsui's time goes, as Airbrussh shows Capistrano's.
type eventLog struct {
	start time.Time
	mu    sync.Mutex
	buf   bytes.Buffer
}

func (l *eventLog) emit(e remote.Event) {
	var what string
	switch e.Kind {
	case remote.EventStage:
		what = "stage " + e.Line
	case remote.EventExited:
		what = fmt.Sprintf("exited %d after %s", e.Code, e.Duration.Round(time.Millisecond))
	case remote.EventStdout, remote.EventStderr:
		what = "| " + e.Line
	default:
		return
	}
	l.line(e.Time, e.Host+": "+what)
}

func (l *eventLog) say(msg string) { l.line(time.Now(), msg) }

func (l *eventLog) line(at time.Time, s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(&l.buf, "%7.3f %s\n", at.Sub(l.start).Seconds(), s)
}

func (l *eventLog) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.buf.Bytes())
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// sh runs cmd on host h over the check pool and returns its output.
func (r *rig) sh(ctx context.Context, h *sshtest.Host, cmd string) (string, error) {
	s, err := r.check.Session(ctx, r.targets[h.Name])
	if err != nil {
		return "", fmt.Errorf("%s: %w", h.Name, err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	if err != nil {
		return string(out), fmt.Errorf("%s: %s: %w: %s", h.Name, cmd, err, clip(string(out)))
	}
	return string(out), nil
}

// verify checks every host after a deploy of commit by one side: current
// is a symlink to a release holding commit in REVISION, that release is
// the one gunicorn serves on the side's port (asked from here, not from
// the host), at most keep releases are left, and for opsui the release is
// the one it recorded.
func (r *rig) verify(ctx context.Context, tree string, port int, commit, release string) error {
	errs := make([]error, len(r.fleet.Hosts))
	var wg sync.WaitGroup
	for i, h := range r.fleet.Hosts {
		wg.Go(func() { errs[i] = r.verifyHost(ctx, h, tree, port, commit, release) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (r *rig) verifyHost(ctx context.Context, h *sshtest.Host, tree string, port int, commit, release string) error {
	deployTo := r.fleet.LoginHome + "/" + tree
	s, err := webtest.ReadRelease(func(cmd string) (string, error) { return r.sh(ctx, h, cmd) }, deployTo)
	if err != nil {
		return err
	}
	id := release
	if id == "" {
		id = s.ReleaseID()
	}
	if err := s.Check(deployTo, id, commit); err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	// The per-release work was done: its own virtualenv, this commit's
	// static files collected into it.
	if _, err := r.sh(ctx, h, "cd "+remote.Quote(deployTo+"/current")+" && test -x venv/bin/python && test ! -L venv && grep -q "+
		remote.Quote(fmt.Sprintf("round %d ", r.round))+" static/shop/round.txt"); err != nil {
		return fmt.Errorf("%s: no virtualenv or collected static files of round %d in the release: %w", h.Name, r.round, err)
	}
	if len(s.Releases) > r.app.KeepReleases {
		return fmt.Errorf("%s: %d releases under %s, want at most %d (keep 5): %v", h.Name, len(s.Releases), deployTo, r.app.KeepReleases, s.Releases)
	}
	body, err := httpGet(ctx, fmt.Sprintf("http://%s/health/", net.JoinHostPort(h.Addr, strconv.Itoa(port))))
	if err != nil {
		return fmt.Errorf("%s: %w", h.Name, err)
	}
	return CheckServed(h.Name, body, commit, id)
}

func httpGet(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s: %s", url, resp.Status, clip(string(b)))
	}
	return string(b), err
}

// verifyMigrated checks that each side applied every migration of the app
// on its migration host (the first): the work "migrate once" must have done.
func (r *rig) verifyMigrated(ctx context.Context) error {
	h := r.fleet.Hosts[0]
	var errs []error
	for _, tree := range []string{opsuiTree, capTree} {
		out, err := r.sh(ctx, h, "cd "+remote.Quote(r.fleet.LoginHome+"/"+tree+"/current")+" && venv/bin/python manage.py showmigrations --plan")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !strings.Contains(out, "[X]") || strings.Contains(out, "[ ]") {
			errs = append(errs, fmt.Errorf("%s: migrations under %s not all applied:\n%s", h.Name, tree, out))
		}
	}
	return errors.Join(errs...)
}

// opsuiRound deploys the commit at main with opsui and verifies it.
func (r *rig) opsuiRound(ctx context.Context, commit string) (Sample, error) {
	wall, cpu, out, err := r.deployOpsui(ctx)
	if err != nil {
		return Sample{}, err
	}
	if err := r.verify(ctx, opsuiTree, opsuiPort, commit, out.ReleaseID); err != nil {
		return Sample{}, fmt.Errorf("after opsui's deploy of %s: %w", commit, err)
	}
	t := out.Timing
	return Sample{Opsui: wall, OpsuiCPU: cpu,
		Phases: Phases{Artifact: t.Artifact, Lock: t.Lock, Upload: t.Upload, Prepare: t.Prepare, Activate: t.Activate, Total: t.Total}}, nil
}

// capRound deploys the commit at main with Capistrano and verifies it.
func (r *rig) capRound(ctx context.Context, commit string) (time.Duration, time.Duration, error) {
	wall, cpu, err := r.deployCap(ctx)
	if err != nil {
		return 0, 0, err
	}
	if err := r.verify(ctx, capTree, capPort, commit, ""); err != nil {
		return 0, 0, fmt.Errorf("after Capistrano's deploy of %s: %w", commit, err)
	}
	return wall, cpu, nil
}

// warmUp deploys once with each tool, untimed, so that every timed deploy
// is a routine one: a previous release, a running gunicorn to HUP,
// Capistrano's mirror cloned, the migrations applied.
func (r *rig) warmUp(ctx context.Context) error {
	commit := r.newCommit()
	if _, err := r.opsuiRound(ctx, commit); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := r.capRound(ctx, commit); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	return nil
}

// rounds runs n timed rounds, a new commit each, opsui first in odd rounds
// and Capistrano first in even ones: whatever one leaves the machine doing
// slows the other alike.
func (r *rig) rounds(ctx context.Context, n int, logf func(format string, args ...any)) ([]Sample, error) {
	var samples []Sample
	for i := 1; i <= n; i++ {
		commit := r.newCommit()
		var s Sample
		var err error
		capFirst := i%2 == 0
		if capFirst {
			if s.Cap, s.CapCPU, err = r.capRound(ctx, commit); err != nil {
				return samples, err
			}
		}
		o, err := r.opsuiRound(ctx, commit)
		if err != nil {
			return samples, err
		}
		o.Cap, o.CapCPU = s.Cap, s.CapCPU
		s = o
		if !capFirst {
			if s.Cap, s.CapCPU, err = r.capRound(ctx, commit); err != nil {
				return samples, err
			}
		}
		logf("hosts=%d round %d (%s first): opsui %s (cpu %s), Capistrano %s (cpu %s), ratio %.2f", len(r.fleet.Hosts), i,
			map[bool]string{true: "Capistrano", false: "opsui"}[capFirst],
			sec(s.Opsui), sec(s.OpsuiCPU), sec(s.Cap), sec(s.CapCPU), s.Opsui.Seconds()/s.Cap.Seconds())
		samples = append(samples, s)
	}
	return samples, nil
}

func sec(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
