package ops

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// workerSh is the tests' worker: it reports the release it loaded (its
// working directory's, REVISION there, and its virtualenv's), and a value
// of the app's shared/.env, then works in 0.2 s tasks. TERM ends it after
// the task at hand, unless $HOME/ignore-term exists: then it ignores TERM.
// In a release whose commit $HOME/fail-in-COMMIT names, it dies at start.
const workerSh = `[ ! -f "$HOME/fail-in-$(cat REVISION)" ] || { echo "worker: cannot start in $(cat REVISION)" >&2; exit 3; }
mkdir -p "$HOME/reports"
while :; do
  if [ -f "$HOME/ignore-term" ]; then trap '' TERM; else trap 'exit 0' TERM; fi
  printf '%s %s %s %s\n' "$(basename "$(pwd -P)")" "$(cat REVISION)" "$(basename "$(dirname "$VIRTUAL_ENV")")" "$SHOP_WORKER_VALUE" >"$HOME/reports/.$$"
  mv -f "$HOME/reports/.$$" "$HOME/reports/$$"
  sleep 0.2
done
`

// workerFleetDoc is the fleet: two worker hosts first (so that a rolling
// deploy restarts their workers before the web host's health check), one
// under the deploy user's own supervisord with two processes, one a
// daemon, then the web host (gunicorn as a daemon).
const workerFleetDoc = `environments:
  - name: test
roles:
  worker:
    options: {command: "/bin/sh %[3]s/worker.sh", stop_timeout: "3"}
apps:
  - name: shop
    repo: REPO
    deploy_to: %[2]s
    keep_releases: 5
    preset: django
    shared: [logs/]
    env: {SHOP_WORKER_VALUE: from-the-env-file}
    migrate: ./venv/bin/python manage.py migrate --noinput
    health:
      url: http://127.0.0.1:8000/health/
      expect: release=$RELEASE_ID
      retries: 30
      deadline: 15s
hosts:
HOSTS
`

// workerEnv is the fleet of TestWorkersFollowTheRelease: host 0 the
// supervisord worker host, 1 the daemon one, 2 the web host.
type workerEnv struct {
	*userEnv
	ctl  string // supervisorctl on host 0, with its configuration
	repo *demoapp.Repo
}

func newWorkerEnv(t *testing.T) *workerEnv {
	t.Helper()
	webtest.RequireGunicorn(t)
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
	repo, err := demoapp.Create(t.Context(), filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	e := &userEnv{Env: remotetest.Start(t, 3, sshtest.WithDeployUser())}
	e.deployTo = e.Fleet.LoginHome + "/srv/shop"
	home := e.Fleet.LoginHome
	conf := home + "/supervisor/supervisord.conf"
	var hosts strings.Builder
	for i, h := range e.Fleet.Hosts {
		fmt.Fprintf(&hosts, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath)
		switch i {
		case 0:
			fmt.Fprintf(&hosts, "    roles: [worker]\n    settings:\n      worker:\n        process: supervisord\n        options: {processes: \"2\", supervisor_conf: %s}\n", conf)
		case 1:
			hosts.WriteString("    roles: [worker]\n    settings:\n      worker:\n        process: daemon\n")
		case 2:
			fmt.Fprintf(&hosts, "    roles: [web]\n    settings:\n      web:\n        health_url: http://%s:8000/health/\n        options: {bind: \"%s:8000\", workers: \"1\"}\n", h.Addr, h.Addr)
		}
	}
	text := strings.Replace(fmt.Sprintf(strings.Replace(workerFleetDoc, "REPO", repo.Dir, 1), e.Fleet.User, e.deployTo, home), "HOSTS\n", hosts.String(), 1)
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"test"}}
	w := &workerEnv{userEnv: e, ctl: "/usr/bin/supervisorctl -c " + remote.Quote(conf) + " ", repo: repo}

	for i := range 2 {
		e.sh(t, i, "printf %s "+remote.Quote(workerSh)+` > "$HOME/worker.sh"`)
	}
	// Host 0's supervisord, with the program opsui renders installed, as
	// opsui setup is to do; it cannot start before the first deploy makes
	// current.
	program, err := deploy.WorkerSupervisorProgram(f, f.Apps[0], f.Hosts[0], e.Fleet.User)
	if err != nil {
		t.Fatal(err)
	}
	out := e.sh(t, 0, fmt.Sprintf(`set -e; mkdir -p "$HOME/supervisor/conf.d" %s/shared/logs; printf %%s %s > "$HOME/supervisor/supervisord.conf"
/usr/bin/supervisord -c %s </dev/null >/dev/null 2>&1
printf %%s %s > "$HOME/supervisor/conf.d/shop-worker.conf"
for i in $(seq 50); do [ -S "$HOME/supervisor/supervisor.sock" ] && break; sleep 0.1; done
%s update; %s status 'shop-worker:*' || true`, remote.Quote(e.deployTo), remote.Quote(fmt.Sprintf(supervisordConf, home)),
		remote.Quote(conf), remote.Quote(program), w.ctl, w.ctl))
	if !strings.Contains(out, "shop-worker") {
		t.Fatalf("supervisord has no program shop-worker: %s", out)
	}
	w.waitGaveUp(t)
	return w
}

// waitGaveUp waits until host 0's supervisord gave up starting the
// workers (FATAL: too many start retries) before current exists. Until
// then it retries on its own (startretries=3, backing off 1+2+3 s; 12 s
// measured at load 16), and a first deploy that switches meanwhile finds
// the workers started by supervisord, on its release, not by its worker
// step. The retries are bounded: the deadline only turns a supervisord
// that never settles into a failure that says so.
func (w *workerEnv) waitGaveUp(t *testing.T) {
	t.Helper()
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(200 * time.Millisecond) {
		st := w.sh(t, 0, w.ctl+"status 'shop-worker:*' || true")
		fatal := 0
		for line := range strings.Lines(st) {
			if f := strings.Fields(line); len(f) > 1 && f[1] == "FATAL" {
				fatal++
			}
		}
		switch {
		case fatal == 2:
			return
		case strings.Contains(st, "RUNNING"), time.Now().After(deadline):
			t.Fatalf("supervisord did not give up starting the workers before any release: %s", st)
		}
	}
}

// reports returns what host i's running workers report, sorted: one
// "release REVISION venv-release env-value" line each.
func (w *workerEnv) reports(t *testing.T, i int) []string {
	t.Helper()
	return workerReports(t, w.userEnv, i)
}

func workerReports(t *testing.T, w *userEnv, i int) []string {
	t.Helper()
	out := w.sh(t, i, `for f in "$HOME"/reports/*; do [ -f "$f" ] && [ -d "/proc/${f##*/}" ] && cat "$f"; done; true`)
	lines := strings.Split(out, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "" })
	slices.Sort(lines)
	return lines
}

// onRelease waits until every worker host's workers (2 under supervisord,
// 1 daemon) report release of commit, loaded with the app's env.
func (w *workerEnv) onRelease(t *testing.T, what string, out *deploy.Outcome, release, commit string) {
	t.Helper()
	for _, n := range out.Notes {
		if strings.Contains(n, ": workers") {
			t.Logf("%s: %s", what, n)
		}
	}
	for i, n := range []int{2, 1} {
		want := slices.Repeat([]string{fmt.Sprintf("%s %s %s from-the-env-file", release, commit, release)}, n)
		var got []string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if got = w.reports(t, i); slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: host %d's workers report %q, want %q%s", what, i, got, want, failures(out))
			}
		}
	}
}

// note returns the outcome's note about host i's workers.
func (w *workerEnv) note(out *deploy.Outcome, i int) string {
	for _, n := range out.Notes {
		if strings.HasPrefix(n, w.Fleet.Hosts[i].Name+": workers") {
			return n
		}
	}
	return ""
}

// TestWorkersFollowTheRelease: worker hosts reached as an ordinary user,
// one under a real supervisord (two processes), one a daemon, beside a
// web host: after a deploy, a rolling deploy, an explicit rollback, an
// auto-rollback of a release whose health check fails (after the workers
// were restarted in it) and a resumed deploy, every worker runs the
// release it should, with the app's env, and the run says each worker
// host's old and new release; a worker that ignores TERM is killed at
// stop_timeout and the rollback says so.
func TestWorkersFollowTheRelease(t *testing.T) {
	w := newWorkerEnv(t)
	ctx := t.Context()
	all := deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true}
	rolling := deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}, AutoRollback: true}
	add, greet := w.repo.Hash(demoapp.CommitAddOrder), w.repo.Hash(demoapp.CommitGreeting)

	first := w.deploy(t, add, all)
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy: %s%s", first.Result, failures(first))
	}
	w.onRelease(t, "the first deploy", first, first.ReleaseID, add)
	for i := range 2 {
		if n, want := w.note(first, i), fmt.Sprintf("workers release none -> %s", first.ReleaseID); !strings.Contains(n, want) {
			t.Errorf("host %d's note after the first deploy: %q, want %q", i, n, want)
		}
	}

	second := w.deploy(t, greet, rolling)
	if second.Result != store.ReleaseSuccess {
		t.Fatalf("rolling deploy: %s%s", second.Result, failures(second))
	}
	w.onRelease(t, "the rolling deploy", second, second.ReleaseID, greet)
	want := fmt.Sprintf("%s: workers release %s -> %s (2 processes, stopped in ", w.Fleet.Hosts[0].Name, first.ReleaseID, second.ReleaseID)
	if n := w.note(second, 0); !strings.HasPrefix(n, want) || strings.Contains(n, "SIGKILL") {
		t.Errorf("note of the supervisord host: %q, want %q...", n, want)
	}
	// The same words in the run's record.
	run, err := w.svc.Store.Run(ctx, second.RunID)
	if err != nil || !strings.Contains(run.Summary, want) {
		t.Errorf("the run's record does not say %q: %q %v", want, run.Summary, err)
	}

	// Workers that ignore TERM: killed at stop_timeout, and said so.
	for i := range 2 {
		w.sh(t, i, `touch "$HOME/ignore-term"`)
	}
	time.Sleep(500 * time.Millisecond) // each worker reads the file at its next task
	rp, err := w.svc.PreviewRollback(ctx, "shop", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := w.svc.Rollback(ctx, rp.Plan, IO{})
	if err != nil || back.Result != store.ReleaseSuccess {
		t.Fatalf("rollback: %v %v%s", back.Result, err, failures(back))
	}
	for i := range 2 {
		w.sh(t, i, `rm -f "$HOME/ignore-term"`)
	}
	w.onRelease(t, "the rollback", back, first.ReleaseID, add)
	for i, n := range []int{2, 1} {
		want := fmt.Sprintf("workers release %s -> %s", second.ReleaseID, first.ReleaseID)
		killed := fmt.Sprintf("; %s killed with SIGKILL still running at stop_timeout", deploy.Plural(n, "process", "processes"))
		if note := w.note(back, i); !strings.Contains(note, want) || !strings.HasSuffix(note, killed) {
			t.Errorf("host %d's note after the rollback: %q, want %q and %q", i, note, want, killed)
		}
	}

	// A release whose health check fails: the worker hosts' batches come
	// first and restart their workers in it; the web host's fails, and the
	// auto-rollback puts the workers back.
	broken := w.deploy(t, w.repo.Hash(demoapp.CommitBreakHealth), rolling)
	if broken.Result != store.ReleaseRolledBack {
		t.Fatalf("broken deploy: %s, want rolled back%s", broken.Result, failures(broken))
	}
	for i := range 2 {
		var went, cameBack bool
		for _, n := range broken.Notes {
			went = went || strings.HasSuffix(strings.SplitN(n, " (", 2)[0], fmt.Sprintf("%s: workers release %s -> %s", w.Fleet.Hosts[i].Name, first.ReleaseID, broken.ReleaseID))
			cameBack = cameBack || strings.HasPrefix(n, fmt.Sprintf("%s: workers release %s -> %s", w.Fleet.Hosts[i].Name, broken.ReleaseID, first.ReleaseID))
		}
		if !went || !cameBack {
			t.Errorf("host %d: the broken deploy's notes do not say its workers went to %s and came back (%v %v):\n%s", i, broken.ReleaseID, went, cameBack, strings.Join(broken.Notes, "\n"))
		}
	}
	w.onRelease(t, "the auto-rollback", broken, first.ReleaseID, add)

	// A deploy interrupted after every switch, before the workers: they
	// still run the old release beside current; --resume puts them on it.
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	pv, err := w.svc.PreviewDeploy(ctx, "shop", "test", greet)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pv.Plan.WithStrategy(deploy.Strategy{Kind: deploy.StrategyAll})
	if err != nil {
		t.Fatal(err)
	}
	// Each host goes through switch, reload and health on its own: the
	// deploy is cut once every host is at its health check, switched.
	var mu sync.Mutex
	atHealth := map[string]bool{}
	cut, err := w.svc.Deploy(ictx, p, IO{Emit: func(ev remote.Event) {
		if ev.Kind == remote.EventStage && ev.Line == deploy.StepHealth {
			mu.Lock()
			atHealth[ev.Host] = true
			if len(atHealth) == len(w.Fleet.Hosts) {
				cancel()
			}
			mu.Unlock()
		}
	}})
	if err != nil || cut.Result == store.ReleaseSuccess {
		t.Fatalf("interrupted deploy: %v %v", cut.Result, err)
	}
	for i := range 2 {
		if cur := w.sh(t, i, "basename $(readlink "+remote.Quote(w.deployTo+"/current")+")"); cur != cut.ReleaseID {
			t.Fatalf("host %d: current is %s after the interrupted deploy, want %s%s", i, cur, cut.ReleaseID, failures(cut))
		}
	}
	if got := w.reports(t, 0); len(got) != 2 || !strings.HasPrefix(got[0], first.ReleaseID+" ") {
		t.Fatalf("the interrupted deploy restarted the workers: %q", got)
	}
	rel, err := w.svc.Resumable(ctx, cut.RunID)
	if err != nil {
		t.Fatal(err)
	}
	tg, err := w.svc.Target(ctx, Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	rp2, err := w.svc.PlanDeploy(ctx, DeployRequest{Target: tg, Strategy: all, Resume: &rel})
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := w.svc.Deploy(ctx, rp2, IO{})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	w.onRelease(t, "the resumed deploy", resumed, cut.ReleaseID, greet)
	if n, want := w.note(resumed, 0), fmt.Sprintf("workers release %s -> %s", first.ReleaseID, cut.ReleaseID); !strings.Contains(n, want) {
		t.Errorf("the resume's note: %q, want %q\n%s", n, want, strings.Join(resumed.Notes, "\n"))
	}
}

// TestConfigReleaseRestartsWorkers: workers read shared/.env when they
// start, so a config release (a rotated secret, a changed value) starts
// them again on the live release once the batch's web hosts are healthy,
// and rollback --config does so with the restored file.
func TestConfigReleaseRestartsWorkers(t *testing.T) {
	w := newWorkerEnv(t)
	ctx := t.Context()
	add := w.repo.Hash(demoapp.CommitAddOrder)
	first := w.deploy(t, add, deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy: %s%s", first.Result, failures(first))
	}
	w.onRelease(t, "the first deploy", first, first.ReleaseID, add)
	tg, err := w.svc.Target(ctx, Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := w.svc.PlanEnvChange(ctx, EnvChangeRequest{Target: tg, Action: store.ConfigSet, Assign: []string{"SHOP_WORKER_VALUE=rotated"},
		Strategy: deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := w.svc.ConfigRelease(ctx, cp, IO{})
	if err != nil {
		t.Fatalf("env set: %v", err)
	}
	if out.Result != store.ReleaseSuccess {
		t.Fatalf("env set: %v%s", out.Result, failures(out))
	}
	w.valueIs(t, "env set", first.ReleaseID, add, "rotated")
	for i := range 2 {
		if n, want := w.note(out, i), fmt.Sprintf("workers release %s -> %s", first.ReleaseID, first.ReleaseID); !strings.Contains(n, want) {
			t.Errorf("host %d's note after env set: %q, want %q", i, n, want)
		}
	}

	if tg, err = w.svc.Target(ctx, Scope{App: "shop", Env: "test"}); err != nil { // the fleet env set edited
		t.Fatal(err)
	}
	back, err := w.svc.PlanConfigRollback(ctx, tg, deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if err != nil {
		t.Fatal(err)
	}
	if out, err = w.svc.ConfigRelease(ctx, back, IO{}); err != nil {
		t.Fatalf("rollback --config: %v", err)
	} else if out.Result != store.ReleaseSuccess {
		t.Fatalf("rollback --config: %v%s", out.Result, failures(out))
	}
	w.valueIs(t, "rollback --config", first.ReleaseID, add, "from-the-env-file")
}

// valueIs waits until every worker host's workers report release of
// commit with SHOP_WORKER_VALUE value.
func (w *workerEnv) valueIs(t *testing.T, what, release, commit, value string) {
	t.Helper()
	for i, n := range []int{2, 1} {
		want := slices.Repeat([]string{fmt.Sprintf("%s %s %s %s", release, commit, release, value)}, n)
		var got []string
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			if got = w.reports(t, i); slices.Equal(got, want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: host %d's workers report %q, want %q", what, i, got, want)
			}
		}
	}
}
