package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demofleet"
	"github.com/opsui/opsui/internal/tuitest"
)

// web2Row matches the fleet row of host web2 (not stg-web2) and captures
// its state.
var web2Row = regexp.MustCompile(`(?m)(?:^|[^-\w])web2\s.*?\b(down|up)\b`)

func web2State(screen string) string {
	m := web2Row.FindStringSubmatch(screen)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDemoFaultDownShowsInConsole runs `opsui demo` in a terminal, stops
// web2's SSH server with `opsui demo fault web2 down` from another shell:
// the console shows web2 down (and the header counts it) while the other
// hosts stay up; `opsui demo fault web2 ok` brings it back. The same with
// hang, which the console sees as a probe that times out.
func TestDemoFaultDownShowsInConsole(t *testing.T) {
	requireDemoServices(t)
	bin := tuitest.Build(t)
	dir := filepath.Join(t.TempDir(), "demo")
	t.Cleanup(func() { exec.Command(bin, "demo", "--stop", "--dir", dir).Run() })
	term := tuitest.Start(t, 160, 40, []string{"NO_COLOR=1"}, bin, "demo", "--dir", dir)
	term.WaitFor("the console on the demo fleet, web2 up", 5*time.Minute, func(s string) bool {
		return strings.Contains(s, "10 hosts") && strings.Count(s, " ok") >= 10 && web2State(s) == "up"
	})
	env, _, _ := isolatedEnv(t)

	out := runOK(t, env, 2*time.Minute, bin, "demo", "fault", "web2", "down", "--dir", dir)
	if !strings.Contains(out, "web2 is down") {
		t.Errorf("demo fault web2 down says:\n%s", out)
	}
	screen := term.WaitFor("web2 down (unreachable) in the console", 2*time.Minute, func(s string) bool {
		return web2State(s) == "down" && strings.Contains(s, "1 down") && strings.Contains(s, "unreachable since")
	})
	t.Logf("web2 down:\n%s", screen)
	for _, line := range strings.Split(screen, "\n") {
		if strings.Contains(line, " web1 ") && strings.Contains(line, "down") {
			t.Errorf("web1 is shown down with web2: %q", line)
		}
	}

	out = runOK(t, env, 2*time.Minute, bin, "demo", "fault", "web2", "ok", "--dir", dir)
	if !strings.Contains(out, "web2 is back to normal") {
		t.Errorf("demo fault web2 ok says:\n%s", out)
	}
	screen = term.WaitFor("web2 up again in the console", 2*time.Minute, func(s string) bool {
		return web2State(s) == "up" && !strings.Contains(s, "1 down")
	})
	t.Logf("web2 back:\n%s", screen)

	// hang: connections are accepted and go silent; the status probe
	// times out and the console shows web2 down again, then up after ok.
	runOK(t, env, 2*time.Minute, bin, "demo", "fault", "web2", "hang", "--dir", dir)
	screen = term.WaitFor("the hung web2 down (timeout) in the console", 2*time.Minute, func(s string) bool {
		return web2State(s) == "down" && strings.Contains(s, "1 down") && strings.Contains(s, "timeout since")
	})
	t.Logf("web2 hung:\n%s", screen)
	runOK(t, env, 2*time.Minute, bin, "demo", "fault", "web2", "ok", "--dir", dir)
	term.WaitFor("web2 up after the hang", 2*time.Minute, func(s string) bool {
		return web2State(s) == "up" && !strings.Contains(s, "1 down")
	})
	term.Keys("q")
	if code := term.WaitExit(3 * time.Minute); code != 0 {
		t.Errorf("opsui demo exited %d:\n%s", code, term.Screen())
	}
}

// TestDemoFaultBadInput: each mistake is refused with what is wrong,
// before any demo is looked for (usage errors, exit status 2), and a
// directory without a running demo says so.
func TestDemoFaultBadInput(t *testing.T) {
	notDemo := t.TempDir()
	idle := t.TempDir() // a demo directory whose fleet is not running
	if err := os.WriteFile(filepath.Join(idle, demofleet.FleetFile), []byte("hosts: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPSUI_DB", "")
	for _, tc := range []struct {
		args  []string
		usage bool
		want  string
	}{
		{[]string{"web2", "broken", "--dir", idle}, true, `unknown fault "broken": want one of down, hang, slow, ok`},
		{[]string{"web2", "down", "--latency", "1s", "--dir", idle}, true, "--latency is for the slow fault, not down"},
		{[]string{"web2", "slow", "--latency", "-1s", "--dir", idle}, true, "want a positive duration"},
		{[]string{"web2", "down"}, true, "which demo? give --dir DIR"},
		{[]string{"web2", "down", "--dir", notDemo}, false, "is not a demo directory"},
		{[]string{"web2", "down", "--dir", idle}, false, "no demo fleet runs in " + idle},
	} {
		out, err := opsuiCmd(t, filepath.Join(t.TempDir(), "x.db"), "", append([]string{"demo", "fault"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("demo fault %v: %v (%s), want %q", tc.args, err, out, tc.want)
			continue
		}
		var ue usageError
		if errors.As(err, &ue) != tc.usage {
			t.Errorf("demo fault %v: usage error %v, want %v (%v)", tc.args, errors.As(err, &ue), tc.usage, err)
		}
	}
}
