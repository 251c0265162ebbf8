package main

import (
	"strings"
	"testing"
	"time"
)

// TestFreezeCLI adds a team freeze around now with opsui freeze add, sees
// it hold in freeze list, has a deploy refused naming it (exit 1, no host
// touched), deploys with --break-glass, finds the reason and operator
// under releases, and removes the freeze. Bad input is refused with what
// is wrong.
func TestFreezeCLI(t *testing.T) {
	e := newDeployEnv(t, 1, "")
	t.Setenv("OPSUI_OPERATOR", "carol@desk")
	now := time.Now().UTC()
	out := mustRun(t, e.db, "freeze", "add", "--env", "test", "--reason", "quarter close", "--weekly",
		"--start", now.Add(-time.Hour).Format("Mon 15:04"), "--end", now.Add(time.Hour).Format("Mon 15:04"))
	if !strings.Contains(out, "freeze 1 added: test: every week") {
		t.Fatalf("freeze add: %s", out)
	}
	out = mustRun(t, e.db, "freeze", "list")
	if !strings.Contains(out, "FROZEN until") || !strings.Contains(out, "quarter close") || !strings.Contains(out, "team") {
		t.Errorf("freeze list:\n%s", out)
	}
	for _, bad := range []struct{ args, want string }{
		{"--env test --reason x --start 2026-01-02 --end 2026-01-03", `start "2026-01-02" is not a time like "2026-12-24 18:00"`},
		{"--env nope --reason x --start 2026-01-02_10:00 --end 2026-01-03_10:00", `no environment "nope" in the inventory`},
		{"--env test --reason x --weekly --start Fri_16:00 --end Mon_08:00 --tz Nowhere/Land", `unknown time zone "Nowhere/Land"`},
	} {
		args := strings.Fields(bad.args)
		for i := range args {
			args[i] = strings.ReplaceAll(args[i], "_", " ")
		}
		out, err := opsuiCmd(t, e.db, "", append([]string{"freeze", "add"}, args...)...)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("freeze add %s: exit %d, %v\n%s; want %q", bad.args, exitCode(err), err, out, bad.want)
		}
	}

	out, err := opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--yes")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "refused: test is frozen") || !strings.Contains(err.Error(), "quarter close (team freeze 1") {
		t.Fatalf("deploy inside the freeze: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if got := sshOutput(t, e.fleet.Hosts[0].Address(), e.cfg, "ls "+e.deployTo("web1")+" 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("the refused deploy touched the host: %s", got)
	}
	if out, err := opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--yes", "--break-glass", " "); err == nil || exitCode(err) != 2 {
		t.Errorf("--break-glass without a reason: exit %d, %v\n%s", exitCode(err), err, out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes", "--break-glass", "payroll export is broken")
	r := releaseOf(t, out)
	if !strings.Contains(out, "breaking glass: test is frozen (quarter close)") {
		t.Errorf("the break-glass deploy does not say it breaks glass:\n%s", out)
	}
	out = mustRun(t, e.db, "releases", "--env", "test")
	if !strings.Contains(out, r+` app/test: break glass by carol@desk: "payroll export is broken" (frozen: test: every week`) {
		t.Errorf("releases do not show the break-glass:\n%s", out)
	}

	out, err = opsuiCmd(t, e.db, "", "freeze", "rm", "x")
	if exitCode(err) != 2 {
		t.Errorf("freeze rm x: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if out := mustRun(t, e.db, "freeze", "rm", "1"); !strings.Contains(out, "freeze 1 removed") {
		t.Errorf("freeze rm: %s", out)
	}
	if out := mustRun(t, e.db, "freeze", "list"); !strings.Contains(out, "no freezes") {
		t.Errorf("freeze list after rm: %s", out)
	}
}
