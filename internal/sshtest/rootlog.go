package sshtest

import (
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
)

// RootLog is a log file that only root (and the adm group) may read, as
// nginx's /var/log/nginx/error.log is on Debian (0640 root:adm), for tests
// of logs read through sudo.
type RootLog struct {
	Path string
}

// NewRootLog creates a RootLog holding lines, in a directory of its own
// under /var/log (searchable, as /var/log/nginx is), removed when the test
// ends. /var/log is shared by every test host: only homes are per host.
// It needs root: without it the test is skipped (see [testenv.Missing]).
func NewRootLog(t testing.TB, lines ...string) *RootLog {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "creating a root-owned log needs root", "nothing: run the tests as root")
	}
	dir, err := os.MkdirTemp("/var/log", "opsui-sudo-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l := &RootLog{Path: filepath.Join(dir, "error.log")}
	if err := os.WriteFile(l.Path, nil, 0o640); err != nil {
		t.Fatal(err)
	}
	gid := 0
	if g, err := user.LookupGroup("adm"); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chown(l.Path, 0, gid); err != nil {
		t.Fatal(err)
	}
	l.Append(t, lines...)
	return l
}

// Append appends lines to the log.
func (l *RootLog) Append(t testing.TB, lines ...string) {
	t.Helper()
	if len(lines) == 0 {
		return
	}
	fh, err := os.OpenFile(l.Path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}
