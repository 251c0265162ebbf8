package deploy

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

var updateWorkers = flag.Bool("update-workers", false, "rewrite testdata/worker_supervisor.golden and worker_systemd.golden")

// workerFleet is a fleet with worker hosts: wk1 under supervisord (two
// processes, a deploy_to that needs quoting and holds a % and a $), wk2
// under systemd, wk3 a daemon.
func workerFleet(t *testing.T, wk1DeployTo string) *inventory.Fleet {
	t.Helper()
	doc := `environments: [{name: production}]
roles:
  worker:
    options: {command: "python -m celery -A shop worker --loglevel=info --hostname 'w@%h'", stop_timeout: "45"}
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    env: {DEBUG: "0"}
hosts:
  - name: wk1
    address: 10.0.0.1
    user: deploy
    env: production
    roles: [worker]
    deploy_to: ` + wk1DeployTo + `
    settings:
      worker:
        process: supervisord
        sudo: true
        options: {processes: "2", program: shop-celery}
  - name: wk2
    address: 10.0.0.2
    user: deploy
    env: production
    roles: [worker]
    settings:
      worker:
        process: systemd
        sudo: true
  - name: wk3
    address: 10.0.0.3
    env: production
    roles: [worker]
    settings:
      worker:
        process: daemon
`
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if *updateWorkers {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update-workers)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (-update-workers rewrites it):\n%s", golden, got)
	}
}

// TestWorkerProgramsGolden: the supervisord program and the systemd unit
// opsui renders for worker hosts, the sudoers lines their restarts need,
// and the fleet file mistakes refused at import.
func TestWorkerProgramsGolden(t *testing.T) {
	f := workerFleet(t, `"/srv/my shop/100%/$HOME/"`)
	prog, err := WorkerSupervisorProgram(f, f.Apps[0], f.Hosts[0], "deploy")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "worker_supervisor.golden", prog)
	unit, err := WorkerSystemdUnit(f, f.Apps[0], f.Hosts[1], "deploy")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "worker_systemd.golden", unit)
	if _, err := WorkerSupervisorProgram(f, f.Apps[0], f.Hosts[1], ""); err == nil || !strings.Contains(err.Error(), `process is "systemd", not supervisord`) {
		t.Errorf("a systemd worker rendered a supervisord program: %v", err)
	}

	rules, _, err := f.SudoRules("shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, r := range rules {
		lines = append(lines, r.Line())
	}
	want := []string{
		`deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf status shop-celery\:*`,
		`deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf stop shop-celery\:*`,
		`deploy ALL=(root) NOPASSWD: /usr/bin/supervisorctl -c /etc/supervisor/supervisord.conf start shop-celery\:*`,
		`deploy ALL=(root) NOPASSWD: /usr/bin/systemctl stop shop-worker.service`,
		`deploy ALL=(root) NOPASSWD: /usr/bin/systemctl start shop-worker.service`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("sudoers lines for the workers:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}

	for _, bad := range []struct{ settings, want string }{
		{`options: {command: "celery worker; rm -rf /"}`, "is shell syntax, not one command"},
		{`options: {command: "a | b"}`, "is shell syntax"},
		{`options: {command: "x $(id)"}`, "is shell syntax"},
		{`options: {command: "exec celery"}`, "leave out exec"},
		{`options: {command: celery, processes: "0"}`, `processes "0" is not a whole number from 1 to 64`},
		{`options: {command: celery, stop_timeout: 30s}`, `stop_timeout "30s" is not a whole number from 1 to 3600`},
		{`process: supervisord`, "process: supervisord but has no options.command"},
		{`process: systemd
        options: {command: celery, processes: "2"}`, "process: systemd runs one process per unit, not 2"},
		{`process: runit
        options: {command: celery}`, `unknown process manager "runit"`},
	} {
		d := "environments: [{name: p}]\nhosts:\n  - name: w\n    address: 10.0.0.1\n    env: p\n    roles: [worker]\n    settings:\n      worker:\n        " + bad.settings + "\n"
		if _, err := inventory.DecodeYAML("f.yaml", []byte(d)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v; want %q", bad.settings, err, bad.want)
		}
	}
	d := "environments: [{name: p}]\nroles:\n  cache:\n    process: supervisord\nhosts: []\n"
	if _, err := inventory.DecodeYAML("f.yaml", []byte(d)); err == nil || !strings.Contains(err.Error(), "not of cache") {
		t.Errorf("process: on the cache role: %v", err)
	}
}

// TestWorkerUnitVerifies runs systemd-analyze verify on a worker unit
// whose deploy_to needs quoting and escaping.
func TestWorkerUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("OPSUI_TEST_REQUIRE_SSHD") != "" && runtime.GOOS == "linux" {
			t.Fatal("systemd-analyze is not installed (scripts/install-deps.sh installs systemd)")
		}
		t.Skip("no systemd-analyze")
	}
	deployTo := filepath.Join(t.TempDir(), "my shop", "100%", "$x")
	if err := os.MkdirAll(filepath.Join(deployTo, "current"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := workerFleet(t, `"`+deployTo+`"`)
	f.Hosts[0].Settings["worker"] = inventory.RoleSettings{Process: inventory.ProcessSystemd}
	unit, err := WorkerSystemdUnit(f, f.Apps[0], f.Hosts[0], "root")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shop-worker.service")
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
	// The check can fail: a working directory that does not exist is reported.
	os.Remove(filepath.Join(deployTo, "current"))
	bad := strings.Replace(unit, "KillSignal=SIGTERM", "KillSignal=SIGNOPE", 1)
	if err := os.WriteFile(file, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", file).CombinedOutput(); err == nil && len(strings.TrimSpace(string(out))) == 0 {
		t.Errorf("systemd-analyze verify found nothing wrong with a unit with a bad signal:\n%s", out)
	}
	f.Hosts[0].Settings["worker"] = inventory.RoleSettings{Process: inventory.ProcessSystemd, Options: map[string]string{"processes": "3"}}
	if _, err := WorkerSystemdUnit(f, f.Apps[0], f.Hosts[0], ""); err == nil || !strings.Contains(err.Error(), "one worker process per unit") {
		t.Errorf("processes: 3 under systemd: %v", err)
	}
}

// TestWorkerSummary: the script's last line, as the run's note says it.
func TestWorkerSummary(t *testing.T) {
	c, ok := parseWorkerSummary("wk1", "workers: ...\nopsui-workers from=20260101000000 20260102000000 to=20260103000000 processes=2 kept= killed=123 456 secs=5")
	if !ok || c.From != "20260101000000 20260102000000" || c.To != "20260103000000" || c.Processes != 2 || len(c.Killed) != 2 || c.Took != 5*time.Second {
		t.Fatalf("%+v %v", c, ok)
	}
	if got := c.String(); got != "wk1: workers release 20260101000000 20260102000000 -> 20260103000000 (2 processes, stopped in 5s); 2 processes killed with SIGKILL still running at stop_timeout" {
		t.Errorf("%q", got)
	}
	if _, ok := parseWorkerSummary("wk1", "no summary"); ok {
		t.Errorf("parsed a line without a summary")
	}
}

// TestWorkersInTheDryRun: the plan a dry run prints ends with the workers
// stage: its hosts, their manager and how they stop.
func TestWorkersInTheDryRun(t *testing.T) {
	f := workerFleet(t, "/srv/shop")
	p, err := NewPlan(f, f.Apps[0], f.Environments[0], f.Hosts, Source{Ref: "main", Commit: strings.Repeat("a", 40)}, "20260101000000", DefaultStrategy(f.Environments[0]))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.Describe(&b)
	for _, want := range []string{
		"  8. workers on wk1, wk2, wk3, after each batch's switch, reload and health check\n",
		"       wk1: supervisord program shop-celery through sudo -n, 2 processes of 'python -m celery -A shop worker --loglevel=info --hostname '\\''w@%h'\\''': TERM, up to 45s to finish, then started in release 20260101000000\n",
		"       wk2: systemd unit shop-worker.service through sudo -n, 1 process of",
		"       wk3: daemon (pidfiles in shared/pids), 1 process of",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("the dry run lacks %q:\n%s", want, b.String())
		}
	}
}
