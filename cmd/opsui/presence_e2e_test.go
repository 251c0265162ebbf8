package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// TestConsoleShowsTeammatesDeployInATerminal: two operators share one
// PostgreSQL store. bob's console (tmux) shows alice's deploy, run by
// her own opsui process on real sshd hosts, in its header while it runs,
// and drops it when it ends.
func TestConsoleShowsTeammatesDeployInATerminal(t *testing.T) {
	e := teamEnv(t, true, slowStage(60))
	bin := tuitest.Build(t)
	t.Setenv("OPSUI_OPERATOR", "alice@lap")
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")

	term := tuitest.Start(t, 180, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"),
		"OPSUI_OPERATOR=bob@box"}, bin, "--db", e.db)
	term.WaitText("2 hosts", 20*time.Second)
	if strings.Contains(term.Screen(), "alice@lap:") {
		t.Fatalf("a finished deploy is shown as under way:\n%s", term.Screen())
	}

	if err := os.WriteFile(filepath.Join(e.fleet.Dir, "slow"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.commit(t, "second change", "index.html", "v2")
	cmd := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--yes")
	cmd.Env = append(os.Environ(), "OPSUI_OPERATOR=alice@lap")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	e.waitSlowStage(t, cmd)
	term.WaitText("alice@lap: deploy app → test (", 30*time.Second)

	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
	term.WaitFor("alice's deploy gone from the header", 60*time.Second, func(s string) bool {
		return strings.Contains(s, "2 hosts") && !strings.Contains(s, "alice@lap:")
	})
	quitConsole(t, term)
}

// TestTeammateRollsBackInTheConsole: alice deploys twice from her own
// opsui processes; bob, on another opsui sharing the PostgreSQL store,
// opens the rollback from his console (tmux) and it targets alice's
// previous good release, which his laptop never deployed; the hosts run
// it after, and releases records the rollback as bob's, back to alice's
// release.
func TestTeammateRollsBackInTheConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd hosts, PostgreSQL and tmux")
	}
	e := teamEnv(t, true, "")
	bin := tuitest.Build(t)
	c1 := e.git(t, "rev-parse", "HEAD")
	alice := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", e.db}, args...)...)
		cmd.Env = append(os.Environ(), "OPSUI_OPERATOR=alice@lap")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("alice: opsui %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	r1 := releaseOf(t, alice("deploy", "--env", "test", "--yes"))
	e.commit(t, "alice's second change", "index.html", "v2")
	r2 := releaseOf(t, alice("deploy", "--env", "test", "--yes"))

	term := tuitest.Start(t, 160, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"),
		"OPSUI_OPERATOR=bob@box"}, bin, "--db", e.db)
	term.WaitText("2 hosts", 20*time.Second)
	term.Keys("r")
	term.WaitText("app → test", 5*time.Second)
	term.Keys("Enter")
	screen := term.WaitText("back to "+r1, 30*time.Second)
	if !strings.Contains(screen, "alice's second change") {
		t.Errorf("the rollback does not say what goes away:\n%s", screen)
	}
	term.Keys("Enter")
	term.WaitText("how are the hosts switched?", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("Roll app on test back", 5*time.Second)
	term.Keys("y")
	term.WaitFor("the rollback's result", 90*time.Second, func(s string) bool {
		return strings.Contains(s, "release "+r1+": success")
	})
	for i := range 2 {
		if rel, rev := e.current(t, i); rel != r1 || rev != c1 {
			t.Errorf("host %d runs %s (%s) after bob's rollback, want alice's %s (%s)", i, rel, rev, r1, c1)
		}
	}
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	quitConsole(t, term)

	out := alice("releases", "--env", "test", "--json")
	var rs []struct {
		ReleaseID string `json:"release_id"`
		Kind      string `json:"kind"`
		Operator  string `json:"operator"`
		Result    string `json:"result"`
		Commit    string `json:"commit"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("releases --json: %v\n%s", err, out)
	}
	if len(rs) != 3 || rs[0].Kind != "rollback" || rs[0].Operator != "bob@box" || rs[0].Commit != c1 || rs[0].Result != "success" ||
		rs[1].ReleaseID != r2 || rs[1].Operator != "alice@lap" {
		t.Errorf("releases after bob's rollback of alice's release:\n%s", out)
	}
}
