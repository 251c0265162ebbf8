package sshtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestWithUserLogsInAsAnOrdinaryUser checks the non-root login: every host
// answers as the ordinary user, in its own empty home that the user owns
// and can write, with no root rights; sudo is refused without a password
// prompt until a sudoers file allows one exact command, on every host.
func TestWithUserLogsInAsAnOrdinaryUser(t *testing.T) {
	t.Parallel()
	f := Start(t, 2, WithDeployUser())
	if f.User != DeployUser || f.LoginHome != "/home/"+DeployUser {
		t.Fatalf("fleet user %q home %q, want %s in /home/%s", f.User, f.LoginHome, DeployUser, DeployUser)
	}
	for _, h := range f.Hosts {
		c := dial(t, f, h)
		if got := run(t, c, `echo "$(id -un) $(id -u) $HOME $(uname -n)"; ls -A "$HOME" | wc -l`); got != DeployUser+" "+uidOf(t)+" "+f.LoginHome+" "+h.Name+"\n0" {
			t.Errorf("%s: login answers %q", h.Name, got)
		}
		run(t, c, "mkdir -p srv/app && echo "+h.Name+" > srv/app/mark")
		if out, err := output(c, "touch /etc/sshtest-must-fail"); err == nil {
			t.Errorf("%s: the user could write /etc: %s", h.Name, out)
		}
		if out, err := output(c, "sudo -n true"); err == nil || !strings.Contains(out, "password is required") {
			t.Errorf("%s: sudo -n true without a sudoers entry: %v %q", h.Name, err, out)
		}
	}
	for _, h := range f.Hosts {
		// Each host's home is its own, as the test sees it too.
		b, err := os.ReadFile(filepath.Join(h.Home, "srv/app/mark"))
		if err != nil || strings.TrimSpace(string(b)) != h.Name {
			t.Errorf("%s: its home's mark is %q, %v", h.Name, b, err)
		}
	}
	Sudoers(t, DeployUser+" ALL=(root) NOPASSWD: /usr/bin/id -u")
	for _, h := range f.Hosts {
		c := dial(t, f, h)
		// Only stdout: sudo may warn on stderr that it cannot resolve the
		// host's own name (each test host has its own hostname).
		if got := run(t, c, "sudo -n /usr/bin/id -u 2>/dev/null"); strings.TrimSpace(got) != "0" {
			t.Errorf("%s: sudo -n id -u with a sudoers entry answered %q", h.Name, got)
		}
		if out, err := output(c, "sudo -n /usr/bin/id -un"); err == nil {
			t.Errorf("%s: sudo ran a command the sudoers line does not name: %q", h.Name, out)
		}
	}
}

func uidOf(t *testing.T) string {
	out, err := exec.Command("id", "-u", DeployUser).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}
