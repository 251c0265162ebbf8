package ops

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/cachetest"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// celeryTasks is the app's Celery module. A task reports the release its
// worker runs: the worker's working directory (resolved when it started,
// in the release current pointed at then) and the REVISION there, with
// the worker's pid; it says when it starts, so that a test can deploy
// while one is in flight.
const celeryTasks = `import os, time
from celery import Celery

app = Celery("tasks", broker=os.environ["CELERY_BROKER"])
app.conf.worker_prefetch_multiplier = 1
app.conf.broker_connection_retry_on_startup = True
HERE = os.getcwd()


def _write(name, text):
    out = os.path.join(os.environ["HOME"], "celery")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "." + name), "w") as f:
        f.write(text)
    os.replace(os.path.join(out, "." + name), os.path.join(out, name))


@app.task(name="report")
def report(name, seconds=0):
    with open(os.path.join(HERE, "REVISION")) as f:
        rev = f.read().strip()
    _write(name + ".started", "%d\n" % os.getpid())
    time.sleep(seconds)
    _write(name, "%s %s %d\n" % (os.path.basename(HERE), rev, os.getpid()))
`

// celeryFleet: one worker host, its Celery worker under the deploy user's
// own supervisord (or a daemon opsui starts), the broker a real Redis
// given in the app's env.
const celeryFleet = `environments:
  - name: test
roles:
  worker:
    process: PROCESS
    options:
      command: /usr/bin/python3 -m celery -A tasks worker --loglevel=INFO --concurrency=1 --without-gossip --without-mingle --without-heartbeat
      stop_timeout: "30"
SUPERVISOR
apps:
  - name: shop
    repo: REPO
    deploy_to: %[2]s
    keep_releases: 5
    shared: [logs/]
    env: {CELERY_BROKER: "redis://BROKER_ADDR/0"}
hosts:
HOSTS
`

// requireCelery skips (or fails, under OPSUI_TEST_REQUIRE_SSHD=1) without
// Debian's Celery and its Redis client, which only /usr/bin/python3 sees.
func requireCelery(t *testing.T) {
	t.Helper()
	testenv.RequireFile(t, "/usr/bin/python3", "python3")
	if out, err := exec.Command("/usr/bin/python3", "-c", "import celery, redis").CombinedOutput(); err != nil {
		testenv.Missing(t, "Debian's python3-celery and python3-redis are not importable: "+strings.TrimSpace(string(out)), "python3-celery python3-redis")
	}
	cachetest.RequireRedis(t)
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
}

// celeryRepo is a git repository of the Celery app, with two commits.
func celeryRepo(t *testing.T) (dir string, commits []string) {
	t.Helper()
	dir = t.TempDir()
	git := func(args ...string) string {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("config", "user.email", "dev@example.com")
	git("config", "user.name", "Dev")
	for i, v := range []string{"one", "two"} {
		if err := os.WriteFile(filepath.Join(dir, "tasks.py"), []byte(celeryTasks+"\nVERSION = "+fmt.Sprintf("%q", v)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "-A")
		git("commit", "-q", "-m", fmt.Sprintf("version %d", i+1))
		commits = append(commits, git("rev-parse", "HEAD"))
	}
	return dir, commits
}

// TestCeleryWorkerFollowsTheRelease: a real Celery worker (Debian's, Redis
// broker) as the app's worker role, under a real supervisord run by the
// ordinary deploy user: a task enqueued before a deploy runs in the old
// release, one after it in the new; a long task in flight when the deploy
// restarts the worker finishes in the old worker (TERM: Celery's warm
// shutdown, within stop_timeout) before the new one takes tasks; after a
// rollback the worker runs the old release again. Once under supervisord,
// once as a daemon opsui starts and stops itself.
func TestCeleryWorkerFollowsTheRelease(t *testing.T) {
	requireCelery(t)
	for _, process := range []string{inventory.ProcessSupervisord, inventory.ProcessDaemon} {
		t.Run(process, func(t *testing.T) { testCeleryWorker(t, process) })
	}
}

func testCeleryWorker(t *testing.T, process string) {
	broker := cachetest.StartRedis(t, "127.0.0.1", "")
	repo, commits := celeryRepo(t)
	e := &userEnv{Env: remotetest.Start(t, 1, sshtest.WithDeployUser())}
	e.deployTo = e.Fleet.LoginHome + "/srv/shop"
	home := e.Fleet.LoginHome
	h := e.Fleet.Hosts[0]
	hosts := fmt.Sprintf("  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    identity_file: %s\n    roles: [worker]\n",
		h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath)
	supervisor := ""
	if process == inventory.ProcessSupervisord {
		supervisor = "      supervisor_conf: %[3]s/supervisor/supervisord.conf\n"
	}
	doc := strings.NewReplacer("REPO", repo, "BROKER_ADDR", broker.Address(), "PROCESS", process, "SUPERVISOR\n", supervisor).Replace(celeryFleet)
	text := strings.Replace(fmt.Sprintf(doc, e.Fleet.User, e.deployTo, home), "HOSTS\n", hosts, 1)
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	st := openStore(t)
	if err := st.SaveFleet(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"test"}}

	if process == inventory.ProcessSupervisord {
		startSupervisor(t, e, f)
	}
	celeryRounds(t, e, broker, commits)
}

// startSupervisor starts the deploy user's supervisord on host 0 with the
// worker program opsui renders, as opsui setup installs it.
func startSupervisor(t *testing.T, e *userEnv, f *inventory.Fleet) {
	t.Helper()
	home := e.Fleet.LoginHome
	conf := home + "/supervisor/supervisord.conf"
	ctl := "/usr/bin/supervisorctl -c " + remote.Quote(conf) + " "
	program, err := deploy.WorkerSupervisorProgram(f, f.Apps[0], f.Hosts[0], e.Fleet.User)
	if err != nil {
		t.Fatal(err)
	}
	out := e.sh(t, 0, fmt.Sprintf(`set -e; mkdir -p "$HOME/supervisor/conf.d" %s/shared/logs; printf %%s %s > "$HOME/supervisor/supervisord.conf"
/usr/bin/supervisord -c %s </dev/null >/dev/null 2>&1
printf %%s %s > "$HOME/supervisor/conf.d/shop-worker.conf"
for i in $(seq 50); do [ -S "$HOME/supervisor/supervisor.sock" ] && break; sleep 0.1; done
%s update; %s status shop-worker || true`, remote.Quote(e.deployTo), remote.Quote(fmt.Sprintf(supervisordConf, home)),
		remote.Quote(conf), remote.Quote(program), ctl, ctl))
	if !strings.Contains(out, "shop-worker") {
		t.Fatalf("supervisord has no program shop-worker: %s", out)
	}
	t.Cleanup(func() { e.sh(t, 0, ctl+"shutdown >/dev/null 2>&1; true") })
}

// celeryRounds enqueues tasks around a deploy, a deploy with a long task
// in flight and a rollback, checking the release each ran in.
func celeryRounds(t *testing.T, e *userEnv, broker *cachetest.Server, commits []string) {
	t.Helper()
	enqueue := func(name string, seconds int) {
		t.Helper()
		e.sh(t, 0, fmt.Sprintf(`cd %s/current && CELERY_BROKER=%s /usr/bin/python3 -c 'import sys, tasks; tasks.report.delay(sys.argv[1], int(sys.argv[2]))' %s %d`,
			remote.Quote(e.deployTo), remote.Quote("redis://"+broker.Address()+"/0"), remote.Quote(name), seconds))
	}
	result := func(name string) string {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			if got := e.sh(t, 0, `cat "$HOME/celery/`+name+`" 2>/dev/null; true`); got != "" {
				return got
			}
		}
		return "" // ranIn says what the worker logged
	}
	workerLog := func() string {
		return e.sh(t, 0, "tail -n 40 "+remote.Quote(e.deployTo+"/shared/logs/shop-worker.log")+" 2>&1; true")
	}
	ranIn := func(name, release, commit string) (pid string) {
		t.Helper()
		got := strings.Fields(result(name))
		if len(got) != 3 || got[0] != release || got[1] != commit {
			t.Fatalf("task %s ran in %q, want release %s (%s)\nworker log:\n%s", name, got, release, commit, workerLog())
		}
		return got[2]
	}

	all := deploy.Strategy{Kind: deploy.StrategyAll}
	first := e.deploy(t, commits[0], all)
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("first deploy: %s%s", first.Result, failures(first))
	}
	enqueue("before", 0)
	oldPid := ranIn("before", first.ReleaseID, commits[0])

	// A long task in flight when the next deploy restarts the worker.
	enqueue("long", 5)
	testenv.WaitFor(t, 2*time.Minute, "the long task to start", func() bool {
		return e.sh(t, 0, `cat "$HOME/celery/long.started" 2>/dev/null; true`) != ""
	})
	second := e.deploy(t, commits[1], all)
	if second.Result != store.ReleaseSuccess {
		t.Fatalf("second deploy: %s%s", second.Result, failures(second))
	}
	if pid := ranIn("long", first.ReleaseID, commits[0]); pid != oldPid {
		t.Errorf("the long task finished in worker %s, want the old worker %s", pid, oldPid)
	}
	note := ""
	for _, n := range second.Notes {
		if strings.Contains(n, ": workers") {
			note = n
		}
	}
	if want := fmt.Sprintf("workers release %s -> %s", first.ReleaseID, second.ReleaseID); !strings.Contains(note, want) || strings.Contains(note, "SIGKILL") {
		t.Errorf("the deploy's note on the worker: %q, want %q and no SIGKILL", note, want)
	}
	enqueue("after", 0)
	newPid := ranIn("after", second.ReleaseID, commits[1])
	if newPid == oldPid {
		t.Errorf("the worker was not restarted: pid %s before and after", newPid)
	}

	rp, err := e.svc.PreviewRollback(t.Context(), "shop", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.svc.Rollback(t.Context(), rp.Plan, IO{})
	if err != nil || back.Result != store.ReleaseSuccess {
		t.Fatalf("rollback: %v %v%s", back.Result, err, failures(back))
	}
	enqueue("rolledback", 0)
	if pid := ranIn("rolledback", first.ReleaseID, commits[0]); pid == newPid {
		t.Errorf("the rollback did not restart the worker (pid %s)", pid)
	}
}
