package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/remote"
)

// deployEnv is a fleet of real sshd hosts in environment "test", an app
// repository and a database holding both.
type deployEnv struct {
	fleet *sshtest.Fleet
	db    string
	repo  string
	cfg   *ssh.ClientConfig
}

// newDeployEnv starts n hosts and imports an app whose stages are the
// given YAML (indented for the app's stages list; may be empty; {{dir}}
// stands for the fleet's directory, which the hosts see too), and the
// app's other settings given as YAML lines.
func newDeployEnv(t *testing.T, n int, stages string, appLines ...string) *deployEnv {
	t.Helper()
	fleet, _ := execFleet(t, n, true)
	e := &deployEnv{fleet: fleet, cfg: fleet.ClientConfig(t), repo: t.TempDir()}
	e.git(t, "init", "-q", "-b", "main")
	e.git(t, "config", "user.email", "dev@example.com")
	e.git(t, "config", "user.name", "Dev")
	e.commit(t, "initial", "index.html", "v1")
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\nroles:\n  web:\n    reload: echo reloaded $RELEASE_ID\napps:\n  - name: app\n    repo: %s\n    deploy_to: /srv/app\n    keep_releases: 3\n    shared: [logs/]\n", e.repo)
	if stages != "" {
		doc.WriteString("    stages:\n" + strings.ReplaceAll(stages, "{{dir}}", fleet.Dir))
	}
	for _, l := range appLines {
		doc.WriteString("    " + l + "\n")
	}
	doc.WriteString("hosts:\n")
	for _, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n    deploy_to: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath, e.deployTo(h.Name))
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	e.db = filepath.Join(t.TempDir(), "deploy.db")
	mustRun(t, e.db, "inventory", "import", file)
	return e
}

// slowStage is a stage that, while {{dir}}/slow exists, marks
// {{dir}}/reached and sleeps the given seconds: waitSlowStage then knows
// this deploy (not some other test's sleep) is inside it, lock held.
func slowStage(seconds int) string {
	return fmt.Sprintf("      - name: slow\n        run: '[ ! -e {{dir}}/slow ] || { touch {{dir}}/reached; echo waiting; sleep %d; }'\n        position: before:switch\n", seconds)
}

// waitSlowStage waits until a deploy reached slowStage's marker.
func (e *deployEnv) waitSlowStage(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(e.fleet.Dir, "reached")); err == nil {
			return
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the deploy never reached its slow stage")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *deployEnv) deployTo(host string) string { return filepath.Join(e.fleet.Dir, "deploy", host) }

func (e *deployEnv) git(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", e.repo}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (e *deployEnv) commit(t *testing.T, msg, file, body string) string {
	t.Helper()
	os.MkdirAll(filepath.Dir(filepath.Join(e.repo, file)), 0o755)
	if err := os.WriteFile(filepath.Join(e.repo, file), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	e.git(t, "add", "-A")
	e.git(t, "commit", "-q", "-m", msg)
	return e.git(t, "rev-parse", "HEAD")
}

// current returns what host i's current points at (a release id) and its
// REVISION, read on the host.
func (e *deployEnv) current(t *testing.T, i int) (string, string) {
	t.Helper()
	h := e.fleet.Hosts[i]
	out := sshOutput(t, h.Address(), e.cfg, fmt.Sprintf("readlink %[1]s/current; cat %[1]s/current/REVISION", remote.Quote(e.deployTo(h.Name))))
	rel, rev, _ := strings.Cut(strings.TrimSpace(out), "\n")
	return filepath.Base(rel), rev
}

func sshOutput(t *testing.T, addr string, cfg *ssh.ClientConfig, cmd string) string {
	t.Helper()
	out, _ := sshExec(t, addr, cfg, cmd)
	return out
}

// releaseOf finds "release ID: RESULT" in a deploy's output.
func releaseOf(t *testing.T, out string) string {
	t.Helper()
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "release" && strings.HasSuffix(f[1], ":") {
			return strings.TrimSuffix(f[1], ":")
		}
	}
	t.Fatalf("no release line in:\n%s", out)
	return ""
}

func TestDeployRollbackReleasesPendingCLI(t *testing.T) {
	e := newDeployEnv(t, 3, "")
	c1 := e.git(t, "rev-parse", "HEAD")

	// A dry run prints the plan and touches nothing.
	out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--ref", "main", "--dry-run", "--strategy", "rolling", "--batch", "1,50%")
	for _, want := range []string{"batch 1: web1", "batch 2: web2, web3", "upload on web1, web2, web3", "echo reloaded", "/releases/"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if got := sshOutput(t, e.fleet.Hosts[0].Address(), e.cfg, "ls "+e.deployTo("web1")+" 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("the dry run touched a host: %s", got)
	}

	out = mustRun(t, e.db, "deploy", "--env", "test", "--ref", "main", "--yes")
	r1 := releaseOf(t, out)
	if !strings.Contains(out, "release "+r1+": success") || !strings.Contains(out, "web2") || !strings.Contains(out, "reloaded "+r1) {
		t.Fatalf("first deploy:\n%s", out)
	}
	c2 := e.commit(t, "second change", "index.html", "v2")
	out = mustRun(t, e.db, "pending", "--env", "test", "main")
	if !strings.Contains(out, "1 commit pending") || !strings.Contains(out, "second change") {
		t.Errorf("pending:\n%s", out)
	}
	out = mustRun(t, e.db, "deploy", "--env", "test", "--strategy", "rolling", "--yes")
	r2 := releaseOf(t, out)
	for i := range e.fleet.Hosts {
		if rel, rev := e.current(t, i); rel != r2 || rev != c2 {
			t.Errorf("host %d: current %s (%s), want %s (%s)", i, rel, rev, r2, c2)
		}
	}
	// Deploying the commit that already runs asks; without a terminal it is refused.
	if out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "test"); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Errorf("redeploying the current commit: %v\n%s", err, out)
	}

	out = mustRun(t, e.db, "releases", "--commit", c2[:8])
	if !strings.Contains(out, r2) || !strings.Contains(out, "success") || strings.Contains(out, r1) {
		t.Errorf("releases --commit:\n%s", out)
	}
	out = mustRun(t, e.db, "rollback", "--env", "test", "--yes")
	if !strings.Contains(out, "release "+r1+": success") {
		t.Fatalf("rollback:\n%s", out)
	}
	for i := range e.fleet.Hosts {
		if rel, rev := e.current(t, i); rel != r1 || rev != c1 {
			t.Errorf("host %d after rollback: current %s (%s), want %s", i, rel, rev, r1)
		}
	}
	out = mustRun(t, e.db, "releases", "--app", "app", "--env", "test")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.Contains(lines[1], "rollback") || !strings.Contains(lines[2], r2) || !strings.Contains(lines[2], "success") {
		t.Errorf("releases after the rollback:\n%s", out)
	}
	if out := mustRun(t, e.db, "releases", "--json"); !strings.Contains(out, `"release_id": "`+r2+`"`) {
		t.Errorf("releases --json:\n%s", out)
	}
	if out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "nope"); err == nil || !strings.Contains(err.Error(), "unknown environment") {
		t.Errorf("unknown env: %v %s", err, out)
	}
	if out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--ref", "no-such-branch", "--yes"); err == nil || !strings.Contains(err.Error(), "unknown ref") {
		t.Errorf("unknown ref: %v %s", err, out)
	}
}

// TestDeployShellMetacharactersInRef deploys a branch whose name is a shell
// injection attempt: it is shipped and logged as a literal.
func TestDeployShellMetacharactersInRef(t *testing.T) {
	e := newDeployEnv(t, 1, "")
	marker := filepath.Join(e.fleet.Dir, "pwned")
	branch := "x;$(touch${IFS}" + marker + ")`touch${IFS}" + marker + "`'\""
	e.git(t, "branch", branch)
	out := mustRun(t, e.db, "deploy", "--env", "test", "--ref", branch, "--yes")
	if !strings.Contains(out, "success") {
		t.Fatalf("deploy of %q:\n%s", branch, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatalf("the branch name ran as a command")
	}
	log := sshOutput(t, e.fleet.Hosts[0].Address(), e.cfg, "cat "+e.deployTo("web1")+"/revisions.log")
	if !strings.Contains(log, "Branch "+branch+" (at ") {
		t.Errorf("revisions.log does not hold the literal branch:\n%s", log)
	}
}

// TestConcurrentDeploysOneWins starts two deploys of one environment at
// once: exactly one proceeds, the other names the holder and takes nothing.
func TestConcurrentDeploysOneWins(t *testing.T) {
	e := newDeployEnv(t, 4, "      - name: slow\n        run: sleep 1\n        position: before:switch\n")
	var wg sync.WaitGroup
	outs, errs := make([]string, 2), make([]error, 2)
	for i := range 2 {
		wg.Go(func() { outs[i], errs[i] = opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--yes") })
	}
	wg.Wait()
	ok, held := 0, 0
	for i := range 2 {
		switch {
		case errs[i] == nil:
			ok++
		case strings.Contains(errs[i].Error(), "is locked on") && strings.Contains(errs[i].Error(), "run "):
			held++
		default:
			t.Errorf("deploy %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	if ok != 1 || held != 1 {
		t.Fatalf("%d deploys succeeded and %d found the lock held, want 1 and 1:\n%s\n---\n%s", ok, held, outs[0], outs[1])
	}
	for i, h := range e.fleet.Hosts {
		if got := sshOutput(t, h.Address(), e.cfg, "ls -A "+e.deployTo(h.Name)); strings.Contains(got, ".opsui-lock") {
			t.Errorf("host %d keeps a lock: %s", i, got)
		}
	}
}

// TestDeployKilledThenResumed kills opsui with SIGKILL in the middle of a
// deploy: at the next start the run is marked interrupted and the lock it
// left is reported, every host still has a valid current, the lock can be
// broken with unlock, and the next deploy goes through.
func TestDeployKilledThenResumed(t *testing.T) {
	e := newDeployEnv(t, 3, slowStage(30))
	bin := tuitest.Build(t)
	t.Log("built")
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	t.Log("first deploy done")
	if err := os.WriteFile(filepath.Join(e.fleet.Dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// The second deploy dies in its slow stage.
	cmd := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--yes")
	cmd.Env = os.Environ()
	e.commit(t, "second", "index.html", "v2")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	e.waitSlowStage(t, cmd)
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	t.Log("killed")

	for i := range e.fleet.Hosts {
		if rel, rev := e.current(t, i); rel == "" || len(rev) != 40 {
			t.Errorf("host %d: current is not a valid release after the kill: %q %q", i, rel, rev)
		}
	}
	out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--yes")
	if err == nil || !strings.Contains(err.Error(), "is locked on") {
		t.Fatalf("deploy after the kill: %v\n%s", err, out)
	}
	if !strings.Contains(out, "marked interrupted") || !strings.Contains(out, "left behind when that run was interrupted") {
		t.Errorf("the interrupted run and its lock are not reported:\n%s", out)
	}
	t.Log("second deploy refused")
	os.Remove(filepath.Join(e.fleet.Dir, "slow"))
	out = mustRun(t, e.db, "unlock", "--env", "test", "--force", "--yes")
	if !strings.Contains(out, "locked by") || !strings.Contains(out, "unlocked web1, web2, web3") {
		t.Errorf("unlock:\n%s", out)
	}
	if out, err := opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--yes"); err != nil || !strings.Contains(out, "success") {
		t.Fatalf("deploy after unlock: %v\n%s", err, out)
	}
}

func TestMigrateCLI(t *testing.T) {
	e := newDeployEnv(t, 2, "",
		`migrate: "echo '  Applying shop.0002_order... OK'"`,
		`migrate_plan: "printf '[X]  shop.0001_initial\\n[ ]  shop.0002_order\\n'"`)
	out := mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	r1 := releaseOf(t, out)
	if !strings.Contains(out, "Applying shop.0002_order") || strings.Count(out, "Applying shop.0002_order") != 1 {
		t.Errorf("the deploy did not migrate exactly once:\n%s", out)
	}
	e.commit(t, "add a migration", "shop/migrations/0003_refund.py", "# migration\n")
	out = mustRun(t, e.db, "deploy", "--env", "test", "--dry-run")
	if !strings.Contains(out, "new migrations (1)") || !strings.Contains(out, "shop/migrations/0003_refund.py") {
		t.Errorf("dry run does not list the new migration:\n%s", out)
	}
	out = mustRun(t, e.db, "migrate", "--env", "test", "--plan")
	if !strings.Contains(out, "1 of 2 migrations pending") || !strings.Contains(out, "shop.0002_order") {
		t.Errorf("migrate --plan:\n%s", out)
	}
	out = mustRun(t, e.db, "migrate", "--env", "test", "--yes")
	if !strings.Contains(out, "recorded as migrated") || !strings.Contains(out, "web1") || strings.Contains(out, "web2 |") {
		t.Errorf("migrate did not run once on web1:\n%s", out)
	}
	out = mustRun(t, e.db, "releases", "--json")
	if !strings.Contains(out, `"release_id": "`+r1+`"`) || !strings.Contains(out, `"migrations_applied": true`) {
		t.Errorf("releases:\n%s", out)
	}
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")
	out = mustRun(t, e.db, "rollback", "--env", "test", "--yes")
	if !strings.Contains(out, "success") || !strings.Contains(out, "applied database migrations. Rolling back does NOT reverse them") {
		t.Errorf("rollback across a migration:\n%s", out)
	}
}
