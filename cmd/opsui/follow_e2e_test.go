package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/tuitest"
)

// gateStage is a stage after the switch that, while {{dir}}/gate exists,
// says its host waits, marks {{dir}}/at-HOST and waits (up to two
// minutes) for {{dir}}/open: a deploy held inside its batch until the
// test lets it go.
const gateStage = `      - name: gate
        run: '[ ! -e {{dir}}/gate ] || { echo "$HOST waits at the gate"; touch {{dir}}/at-$HOST; i=0; while [ ! -e {{dir}}/open ] && [ $i -lt 600 ]; do sleep 0.2; i=$((i+1)); done; echo "$HOST through the gate"; }'
        position: after:switch
`

// TestConsoleFollowsTeammatesDeployInATerminal: alice and bob share one
// PostgreSQL store. alice's rolling deploy (her own opsui process, real
// sshd hosts) waits inside its first batch; bob's console (tmux) shows
// the batch in its header, opens her run from the past runs and sees her
// host's lines as they are written; his cancel key says the run is
// alice's; when the test lets her deploy go on, bob sees the second
// batch's lines and the end in the words alice's opsui printed.
func TestConsoleFollowsTeammatesDeployInATerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("real sshd hosts, PostgreSQL and tmux")
	}
	e := teamEnv(t, true, gateStage)
	bin := tuitest.Build(t)
	t.Setenv("OPSUI_OPERATOR", "alice@lap")
	mustRun(t, e.db, "deploy", "--env", "test", "--yes")

	term := tuitest.Start(t, 180, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"),
		"OPSUI_OPERATOR=bob@box"}, bin, "--db", e.db)
	term.WaitText("2 hosts", 20*time.Second)

	gate := func(name string) string { return filepath.Join(e.fleet.Dir, name) }
	if err := os.WriteFile(gate("gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	e.commit(t, "second change", "index.html", "v2")
	var out bytes.Buffer
	alice := exec.Command(bin, "--db", e.db, "deploy", "--env", "test", "--strategy", "rolling", "--batch", "1", "--yes")
	alice.Env = append(os.Environ(), "OPSUI_OPERATOR=alice@lap")
	alice.Stdout, alice.Stderr = &out, &out
	if err := alice.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- alice.Wait() }()
	defer func() {
		os.WriteFile(gate("open"), nil, 0o644)
		alice.Process.Kill()
	}()
	first, second := e.fleet.Hosts[0].Name, e.fleet.Hosts[1].Name
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(gate("at-" + first)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's deploy never reached the gate on %s:\n%s", first, out.String())
		}
	}

	// bob's header says where alice is; he opens her run from the past runs.
	term.WaitText("alice@lap: deploy app → test, batch 1/2 (", 30*time.Second)
	term.Keys("P")
	term.WaitText("running", 10*time.Second)
	term.Keys("Enter")
	screen := term.WaitText("alice@lap's deploy app → test, batch 1/2 · live, read-only", 30*time.Second)
	term.WaitText(first+" waits at the gate", 30*time.Second)
	if strings.Contains(screen, second+" waits at the gate") {
		t.Errorf("the second batch's host is at the gate with the first:\n%s", screen)
	}
	term.Keys("c")
	screen = term.WaitText("read-only: alice@lap's run", 10*time.Second)
	if strings.Contains(screen, "cancel the run on every host?") {
		t.Errorf("bob is asked to cancel alice's run:\n%s", screen)
	}

	// alice's deploy goes on: bob sees each batch's lines live, then its end.
	if err := os.WriteFile(gate("open"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ended:
		if err != nil {
			t.Fatalf("alice's deploy: %v\n%s", err, out.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("alice's deploy did not end:\n%s", out.String())
	}
	m := regexp.MustCompile(`release (\d+): (success on 2 hosts);`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("alice's deploy did not end in success:\n%s", out.String())
	}
	end := fmt.Sprintf("alice@lap's deploy app → test ended: release %s: %s", m[1], m[2])
	screen = term.WaitFor("the end of alice's deploy", time.Minute, func(s string) bool {
		return strings.Contains(s, end)
	})
	for _, want := range []string{first + " through the gate", second + " waits at the gate", second + " through the gate", "done: 2 ok"} {
		if !strings.Contains(screen, want) {
			t.Errorf("bob's screen lacks %q:\n%s", want, screen)
		}
	}
	term.Keys("Escape")
	term.WaitText("past runs", 10*time.Second)
	term.Keys("Escape")
	term.WaitText("HOST", 10*time.Second)
	quitConsole(t, term)
}
