package ops

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestWorkersThroughSudo: a worker host whose workers run under root's
// supervisord, which the deploy user reaches only through sudo -n with
// the lines opsui setup --print-sudoers prints (worker role sudo: true).
// A deploy restarts the workers (as the deploy user) in the release; with
// the start line taken away, the next deploy fails on that host at its
// workers, naming the sudoers line to add, before stopping anything: the
// workers run on, on the release they had.
func TestWorkersThroughSudo(t *testing.T) {
	testenv.RequireFile(t, "/usr/bin/supervisord", "supervisor")
	ctx := t.Context()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	e := &userEnv{Env: remotetest.Start(t, 1, sshtest.WithDeployUser())}
	e.deployTo = e.Fleet.LoginHome + "/srv/shop"
	home, h := e.Fleet.LoginHome, e.Fleet.Hosts[0]
	// /etc/sudoers.d and the deploy user are shared by every test process
	// on the machine, and the user's home is the same path on every host:
	// with a fixed supervisord.conf, another process running this test
	// grants the very line taken away below. A configuration path of this
	// test's own makes every sudoers line it writes its own.
	conf := home + "/supervisor/supervisord-" + sshtest.UniqueName(t) + ".conf"
	doc := fmt.Sprintf(`environments: [{name: test}]
apps:
  - {name: shop, repo: %s, deploy_to: %s, preset: django, shared: [logs/], env: {SHOP_WORKER_VALUE: from-the-env-file}}
hosts:
  - name: %s
    address: %s
    port: %d
    user: %s
    env: test
    identity_file: %s
    roles: [worker]
    settings:
      worker:
        process: supervisord
        sudo: true
        options: {command: "/bin/sh %s/worker.sh", stop_timeout: "5", supervisor_conf: %s}
`, repo.Dir, e.deployTo, h.Name, h.Addr, h.Port, e.Fleet.User, e.Fleet.ClientKeyPath, home, conf)
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	if err := st.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	e.svc = &Service{Store: st, Conn: e.Pool, Operator: "alice", Args: []string{"test"}}

	rules, notes, err := f.SudoRules("shop", "test")
	if err != nil || len(rules) != 3 || len(notes) != 0 {
		t.Fatalf("sudo rules: %+v %v %v", rules, notes, err)
	}
	ctl := "/usr/bin/supervisorctl -c " + conf + " "
	var lines []string
	for _, r := range rules {
		lines = append(lines, r.Line())
	}
	// The test's own: starting root's supervisord and reading its programs.
	own := []string{e.Fleet.User + " ALL=(root) NOPASSWD: /usr/bin/supervisord -c " + conf, e.Fleet.User + " ALL=(root) NOPASSWD: " + ctl + "update"}
	sudoers := sshtest.Sudoers(t, append(slicesClone(lines), own...)...)

	program, err := deploy.WorkerSupervisorProgram(f, f.Apps[0], f.Hosts[0], e.Fleet.User)
	if err != nil {
		t.Fatal(err)
	}
	e.sh(t, 0, "printf %s "+remote.Quote(workerSh)+` > "$HOME/worker.sh"`)
	out := e.sh(t, 0, fmt.Sprintf(`set -e; mkdir -p "$HOME/supervisor/conf.d" %s/shared/logs; printf %%s %s > %s
sudo -n /usr/bin/supervisord -c %s </dev/null >/dev/null 2>&1
printf %%s %s > "$HOME/supervisor/conf.d/shop-worker.conf"
for i in $(seq 50); do [ -S "$HOME/supervisor/supervisor.sock" ] && break; sleep 0.1; done
sudo -n %supdate; ls -l "$HOME/supervisor/supervisor.sock"`, remote.Quote(e.deployTo), remote.Quote(fmt.Sprintf(supervisordConf, home)), remote.Quote(conf),
		conf, remote.Quote(program), ctl))
	if !strings.Contains(out, "root") {
		t.Fatalf("root's supervisord: %s", out)
	}

	first := e.deploy(t, repo.Hash(demoapp.CommitAddOrder), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if first.Result != store.ReleaseSuccess {
		t.Fatalf("deploy through sudo: %s%s", first.Result, failures(first))
	}
	want := fmt.Sprintf("%s %s %s from-the-env-file", first.ReleaseID, repo.Hash(demoapp.CommitAddOrder), first.ReleaseID)
	for i := 0; ; i++ {
		got := workerReports(t, e, 0)
		if len(got) == 1 && got[0] == want {
			break
		}
		if i == 100 {
			t.Fatalf("the worker reports %q, want %q\n%s\n%s", got, want, strings.Join(first.Notes, "\n"),
				e.sh(t, 0, `ls -la "$HOME/reports"; cat "$HOME"/reports/*; ps -eo pid,user,args; tail -20 "$HOME/supervisor/supervisord.log"`))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := e.sh(t, 0, `ps -o user= -p "$(cat "$HOME/supervisor/supervisord.pid")"; for f in "$HOME"/reports/*; do [ -d "/proc/${f##*/}" ] && ps -o user= -p "${f##*/}"; done`); got != "root\n"+e.Fleet.User {
		t.Errorf("supervisord and the worker run as %q, want root and %s", got, e.Fleet.User)
	}
	pids := e.sh(t, 0, `ls "$HOME/reports"`)

	// The start line is gone: the deploy stops at the worker host's
	// workers before it stops them, naming the line.
	if err := os.WriteFile(sudoers, []byte(strings.Join(append(slicesClone(lines[:2]), own...), "\n")+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	second := e.deploy(t, repo.Hash(demoapp.CommitGreeting), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	failed := second.Failed()
	if len(failed) != 1 || failed[0].Step != deploy.StepWorkers || failed[0].Err == nil ||
		!strings.Contains(failed[0].Err.Error(), rules[2].Line()) {
		t.Fatalf("deploy without the start right: %s, failed %+v; want a failure at %s naming %q%s", second.Result, failed, deploy.StepWorkers, rules[2].Line(), failures(second))
	}
	t.Logf("%s: %s", failed[0].Host, failed[0].Err)
	if got := workerReports(t, e, 0); len(got) != 1 || got[0] != want || e.sh(t, 0, `ls "$HOME/reports"`) != pids {
		t.Errorf("the worker was touched by the deploy that could not start it: %q, pids %q (was %q)", got, e.sh(t, 0, `ls "$HOME/reports"`), pids)
	}
	if second.Result != store.ReleaseRolledBack {
		t.Errorf("deploy without the start right: %s, want rolled back", second.Result)
	}

	// With the right back, a release whose worker dies at start fails the
	// host at its workers, saying so; the auto-rollback starts them again
	// in the release they ran.
	if err := os.WriteFile(sudoers, []byte(strings.Join(append(slicesClone(lines), own...), "\n")+"\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	e.sh(t, 0, `touch "$HOME/fail-in-`+repo.Hash(demoapp.CommitGreeting)+`"`)
	third := e.deploy(t, repo.Hash(demoapp.CommitGreeting), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	failed = third.Failed()
	if len(failed) != 1 || failed[0].Step != deploy.StepWorkers || failed[0].Err == nil ||
		!strings.Contains(failed[0].Err.Error(), "supervisord could not start shop-worker: ") ||
		!strings.Contains(failed[0].Err.Error(), "shop-worker.log ends: worker: cannot start in "+repo.Hash(demoapp.CommitGreeting)) || third.Result != store.ReleaseRolledBack {
		t.Fatalf("deploy of a release whose worker dies: %s, failed %+v%s", third.Result, failed, failures(third))
	}
	t.Logf("%s: %s", failed[0].Host, failed[0].Err)
	for i := 0; ; i++ {
		got := workerReports(t, e, 0)
		if len(got) == 1 && got[0] == want {
			break
		}
		if i == 100 {
			t.Fatalf("after the auto-rollback the worker reports %q, want %q%s", got, want, failures(third))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := strings.Join(third.Notes, "\n"); !strings.Contains(n, "workers release none -> "+first.ReleaseID+" (1 process started)") {
		t.Errorf("the auto-rollback's notes do not say the worker started in %s again:\n%s", first.ReleaseID, n)
	}

	// The fleet asks for two processes, the program installed runs one:
	// the deploy goes on, and says so.
	e.sh(t, 0, `rm -f "$HOME"/fail-in-*`)
	set := f.Hosts[0].Settings["worker"]
	set.Options["processes"] = "2"
	if err := st.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	fourth := e.deploy(t, repo.Hash(demoapp.CommitGreeting), deploy.Strategy{Kind: deploy.StrategyAll, AutoRollback: true})
	if fourth.Result != store.ReleaseSuccess {
		t.Fatalf("deploy with a program that runs fewer processes: %s%s", fourth.Result, failures(fourth))
	}
	want = fmt.Sprintf("%s: workers release %s -> %s (1 process, stopped in ", h.Name, first.ReleaseID, fourth.ReleaseID)
	said := "; the fleet says 2: install the program opsui setup --print-supervisor prints"
	if n := strings.Join(fourth.Notes, "\n"); !strings.Contains(n, want) || !strings.Contains(n, said) {
		t.Errorf("the deploy's notes do not say %q and %q:\n%s", want, said, n)
	}
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }
