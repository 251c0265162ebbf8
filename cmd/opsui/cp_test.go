package main

import (
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
)

// TestCpCLI: opsui cp puts the file on the role's hosts with its mode and
// prints one line per host and the summary; a bad mode is a usage error
// (exit 2), a relative remote path one too, and nothing is written.
func TestCpCLI(t *testing.T) {
	fleet, db := execFleet(t, 2, true)
	if !fleet.Isolated {
		t.Skip("cp writes into each host's own home: run as root")
	}
	local := filepath.Join(t.TempDir(), "motd")
	os.WriteFile(local, []byte("hello from opsui\n"), 0o604)
	u, err := user.Current() // the hosts' own home is the user's, not the test's $HOME
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(u.HomeDir, "motd-cp-test")
	out, err := opsuiCmd(t, db, "", "cp", local, dst, "--env", "test", "--role", "web")
	if err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	for _, h := range []string{"web1", "web2"} {
		if !strings.Contains(out, h+" | wrote "+dst+": 17 bytes, mode 0604") {
			t.Errorf("no line for %s in:\n%s", h, out)
		}
	}
	if !strings.Contains(out, "2 ok") {
		t.Errorf("no summary in:\n%s", out)
	}
	out = mustRun(t, db, "exec", "--role", "web", "--", "stat -c %a "+dst+"; cat "+dst)
	if strings.Count(out, "| 604\n") != 2 || strings.Count(out, "| hello from opsui\n") != 2 {
		t.Errorf("the hosts have:\n%s", out)
	}
	for _, bad := range [][]string{{"--mode", "999"}, {"--mode", "rw"}} {
		if out, err := opsuiCmd(t, db, "", append([]string{"cp", local, dst, "--env", "test"}, bad...)...); exitCode(err) != 2 {
			t.Errorf("cp %v: exit %d (%v), want 2\n%s", bad, exitCode(err), err, out)
		}
	}
	if out, err := opsuiCmd(t, db, "", "cp", local, "motd", "--env", "test"); exitCode(err) != 2 || !strings.Contains(err.Error(), "not absolute") {
		t.Errorf("cp to a relative path: exit %d (%v)\n%s", exitCode(err), err, out)
	}
}
