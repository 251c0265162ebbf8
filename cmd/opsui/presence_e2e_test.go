package main

import (
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
