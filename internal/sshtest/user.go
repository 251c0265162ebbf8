package sshtest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// DeployUser is the ordinary user [WithDeployUser] logs in as.
const DeployUser = "opsuitest"

// WithUser makes every host log in as the ordinary (non-root) user name
// instead of the current user, as production hosts do. The user is created
// on this machine when missing (useradd -m, then a password field of '*':
// sshd without PAM refuses a locked account even for keys) and kept for
// later tests. Each host's own, initially empty home, owned by the user, is
// bind-mounted over the user's home inside the host's mount namespace, as
// the current user's is without this option; /etc (sudoers, supervisor's
// configuration) is the machine's, shared by every host. It needs root
// (isolated hosts): without it the test is skipped, or fails under
// OPSUI_TEST_REQUIRE_SSHD=1.
func WithUser(name string) Option {
	return func(o *options) { o.user = name }
}

// WithDeployUser is WithUser(DeployUser).
func WithDeployUser() Option { return WithUser(DeployUser) }

var validUser = regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,30}$`)

// loginUser is the account hosts are logged in to.
type loginUser struct {
	name, home string
	uid, gid   int
	own        bool // the current user: no home to chown, keys need not be readable by another user
}

// resolveUser returns the login user of o, creating an ordinary user when
// WithUser names one that does not exist.
func resolveUser(t testing.TB, o *options) (*loginUser, error) {
	if o.user == "" {
		u, err := user.Current()
		if err != nil {
			return nil, fmt.Errorf("current user: %w", err)
		}
		return &loginUser{name: u.Username, home: u.HomeDir, own: true}, nil
	}
	if !validUser.MatchString(o.user) || o.user == "root" {
		return nil, fmt.Errorf("WithUser: %q is not an ordinary user name", o.user)
	}
	if os.Geteuid() != 0 || o.noIsolation {
		testenv.Missing(t, "WithUser needs root (isolated hosts) to create and log in as "+o.user, "nothing: run the tests as root")
	}
	u, err := ensureUser(o.user)
	if err != nil {
		return nil, err
	}
	lu := &loginUser{name: u.Username, home: u.HomeDir}
	if lu.uid, err = strconv.Atoi(u.Uid); err != nil {
		return nil, fmt.Errorf("user %s: uid %q: %w", u.Username, u.Uid, err)
	}
	if lu.gid, err = strconv.Atoi(u.Gid); err != nil {
		return nil, fmt.Errorf("user %s: gid %q: %w", u.Username, u.Gid, err)
	}
	return lu, nil
}

// ensureUser looks name up, creating it when missing. Tests of several
// packages may create it at once: useradd fails while another holds the
// lock of /etc/passwd, or because the other created it first, so it is
// tried again after a look-up.
func ensureUser(name string) (*user.User, error) {
	var lastErr error
	for range 20 {
		if u, err := user.Lookup(name); err == nil {
			return u, nil
		}
		out, err := exec.Command("/usr/sbin/useradd", "-m", "-U", "-s", "/bin/bash", name).CombinedOutput()
		if err == nil {
			// A locked account ('!') is refused by sshd without PAM.
			if out, err := exec.Command("/usr/sbin/usermod", "-p", "*", name).CombinedOutput(); err != nil {
				return nil, fmt.Errorf("usermod -p '*' %s: %v: %s", name, err, out)
			}
			continue
		}
		lastErr = fmt.Errorf("useradd %s: %v: %s", name, err, strings.TrimSpace(string(out)))
		time.Sleep(100 * time.Millisecond)
	}
	return nil, lastErr
}

// authorizedKeysFor writes the fleet's authorized keys where the login
// user can read them (sshd reads the file as the user): the fleet's
// directory is private to the test's user, so another user's keys go to a
// directory of their own under the system's temporary directory, removed
// with the fleet.
func authorizedKeysFor(t testing.TB, lu *loginUser, dir string, keys []byte) (string, error) {
	if lu.own {
		p := filepath.Join(dir, "authorized_keys")
		return p, os.WriteFile(p, keys, 0o600)
	}
	authDir, err := os.MkdirTemp("", "sshtest-keys-")
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { os.RemoveAll(authDir) })
	if err := os.Chmod(authDir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(authDir, "authorized_keys")
	if err := os.WriteFile(p, keys, 0o644); err != nil {
		return "", err
	}
	return p, nil
}

// Sudoers installs lines as a sudoers file under /etc/sudoers.d (shared by
// every host) for the rest of the test, checked with visudo first so that a
// bad line never breaks sudo for the machine, and removed at cleanup. It
// skips the test (or fails it, see [testenv.Missing]) without sudo.
//
// The file is the test's own, but the rights are not: sudo grants the union
// of every file, /etc/sudoers.d is the machine's, and every test process
// (other packages', other checkouts') logs in as the same [DeployUser] with
// the same home path. A test that takes a right away, or checks that one is
// refused, must name in its lines something of its own (a path holding
// [UniqueName]): another process running the same test grants the same
// line meanwhile.
func Sudoers(t testing.TB, lines ...string) string {
	t.Helper()
	testenv.RequireFile(t, "/usr/bin/sudo", "sudo")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "writing /etc/sudoers.d needs root", "nothing: run the tests as root")
	}
	// sudo skips files in sudoers.d whose names hold a '.' or end in '~'.
	path := "/etc/sudoers.d/sshtest_" + UniqueName(t)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o440); err != nil {
		t.Fatalf("sshtest: %v", err)
	}
	if out, err := exec.Command("/usr/sbin/visudo", "-cqf", tmp).CombinedOutput(); err != nil {
		os.Remove(tmp)
		t.Fatalf("sshtest: sudoers lines %q refused by visudo: %v: %s", lines, err, out)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		t.Fatalf("sshtest: %v", err)
	}
	t.Cleanup(func() { os.Remove(path) })
	return path
}

// UniqueName returns 12 random hex digits, for the names a test puts in
// places every test process on the machine shares (/etc/sudoers.d, the
// deploy user's home path, /tmp).
func UniqueName(t testing.TB) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
