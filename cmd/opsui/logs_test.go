package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
)

// syncBuffer is a bytes.Buffer safe for the command's writers and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// logsFleet starts n isolated sshd hosts whose web role logs app.log and
// error.log (in each host's home), imported into a fresh database with HOME
// set up as execFleet does. It returns the fleet and the database path.
func logsFleet(t *testing.T, n int) (*sshtest.Fleet, string) {
	t.Helper()
	fleet, db := execFleet(t, n, true)
	if !fleet.Isolated {
		t.Skip("needs isolated hosts (root): the test writes each host's files in its own home")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// The login user's home on each host is the host's own Home.
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\nroles:\n  web:\n    logs: [%s, %s]\nhosts:\n",
		filepath.Join(u.HomeDir, "app.log"), filepath.Join(u.HomeDir, "error.log"))
	for _, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err = os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, "inventory", "import", file) // replaces the inventory
	return fleet, db
}

// appendTo appends lines to name in h's home.
func appendTo(t testing.TB, h *sshtest.Host, name string, lines ...string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(h.Home, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		t.Fatal(err)
	}
}

// startLogs runs opsui logs in-process until the test cancels it.
func startLogs(t *testing.T, db string, args ...string) (out *syncBuffer, stop func() error) {
	t.Helper()
	out = &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	c := &cli{stdout: out, stderr: out, stdin: strings.NewReader("")}
	root := newRootCmd(c)
	root.SetArgs(append([]string{"--db", db, "logs"}, args...))
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("opsui logs did not stop after ctrl+c")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return out, stop
}

// squeeze collapses runs of spaces (the host labels are padded to one width).
func squeeze(s string) string {
	for strings.Contains(s, "  ") {
		s = strings.ReplaceAll(s, "  ", " ")
	}
	return s
}

// waitOutput waits until ok holds for the output, squeezed.
func waitOutput(t *testing.T, out *syncBuffer, what string, ok func(string) bool) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := squeeze(out.String())
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; output:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLogsCLIRoleLogsGrepSave(t *testing.T) {
	fleet, db := logsFleet(t, 2)
	for _, h := range fleet.Hosts {
		appendTo(t, h, "app.log", "old info", "old ERROR one")
		appendTo(t, h, "error.log", "started", "old error at start")
	}
	save := filepath.Join(t.TempDir(), "saved.log")
	out, stop := startLogs(t, db, "--role", "web", "--grep", "error|traceback", "--since-lines", "1", "--save", save)
	// Every file's backlog shown: every tail runs, so no new line can
	// be written before its tail starts (and be missed by --since-lines 1).
	waitOutput(t, out, "the backlog", func(s string) bool {
		return strings.Contains(s, "web1 app.log | old ERROR one") && strings.Contains(s, "web2 app.log | old ERROR one") &&
			strings.Contains(s, "web1 error.log | old error at start") && strings.Contains(s, "web2 error.log | old error at start")
	})
	for i, h := range fleet.Hosts {
		appendTo(t, h, "app.log", "GET / ok", fmt.Sprintf("ERROR new %d", i), "Traceback (most recent call last):")
		appendTo(t, h, "error.log", "an error here", "fine")
	}
	s := waitOutput(t, out, "the new lines", func(s string) bool {
		return strings.Contains(s, "web1 error.log | an error here") && strings.Contains(s, "web2 app.log | Traceback")
	})
	if err := stop(); err != nil {
		t.Fatalf("logs: %v\n%s", err, s)
	}
	for _, bad := range []string{"old info", "GET / ok", "fine", "started"} {
		if strings.Contains(s, bad) {
			t.Errorf("--grep let %q through:\n%s", bad, s)
		}
	}
	if !strings.Contains(s, "web2 app.log | ERROR new 1") {
		t.Errorf("missing web2's new error:\n%s", s)
	}
	saved, err := os.ReadFile(save)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(squeeze(string(saved)), "web1 app.log | ERROR new 0") || strings.Contains(string(saved), "\x1b[") {
		t.Errorf("saved stream:\n%s", saved)
	}
}

func TestLogsCLIFileInsteadOfRoleLogs(t *testing.T) {
	fleet, db := logsFleet(t, 2)
	appendTo(t, fleet.Hosts[0], "other.log", "adhoc line")
	appendTo(t, fleet.Hosts[0], "app.log", "role line")
	out, stop := startLogs(t, db, "--host", "web1", "--file", "other.log")
	s := waitOutput(t, out, "the ad-hoc file", func(s string) bool { return strings.Contains(s, "web1 | adhoc line") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(s, "role line") || strings.Contains(s, "web2") {
		t.Errorf("followed more than --file on web1:\n%s", s)
	}
}

func TestLogsCLIUsage(t *testing.T) {
	_, db := execFleet(t, 1, true) // no role logs in this inventory
	for _, args := range [][]string{
		{"logs", "--grep", "("},
		{"logs", "--since-lines", "-1"},
		{"logs", "--role", "web"},
	} {
		out, err := opsuiCmd(t, db, "", args...)
		if err == nil || exitCode(err) != 2 {
			t.Errorf("opsui %s: %v (exit %d), want a usage error\n%s", strings.Join(args, " "), err, exitCode(err), out)
		}
	}
}

// TestLogsCLISaveIsPrivateAndNeverClobbers: --save creates its file 0600,
// refuses an existing file (unless --overwrite) and a symlink.
func TestLogsCLISaveIsPrivateAndNeverClobbers(t *testing.T) {
	fleet, db := logsFleet(t, 1)
	appendTo(t, fleet.Hosts[0], "app.log", "a line")
	dir := t.TempDir()

	existing := filepath.Join(dir, "existing.log")
	os.WriteFile(existing, []byte("keep me\n"), 0o644)
	out, err := opsuiCmd(t, db, "", "logs", "--host", "web1", "--save", existing)
	if err == nil || !strings.Contains(err.Error(), "exists") || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("--save on an existing file: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me\n" {
		t.Errorf("the existing file was changed: %q", b)
	}
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	link := filepath.Join(dir, "link.log")
	os.Symlink(target, link)
	for _, tc := range []struct {
		args []string
		want string
	}{{[]string{"--save", link}, "exists"}, {[]string{"--save", link, "--overwrite"}, "symbolic link"}} {
		out, err := opsuiCmd(t, db, "", append([]string{"logs", "--host", "web1"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("logs %v: %v, want %q\n%s", tc.args, err, tc.want, out)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("written through the symlink: %q", b)
	}

	for _, tc := range []struct {
		path string
		args []string
	}{{filepath.Join(dir, "new.log"), nil}, {existing, []string{"--overwrite"}}} {
		out, stop := startLogs(t, db, append([]string{"--host", "web1", "--since-lines", "5", "--save", tc.path}, tc.args...)...)
		waitOutput(t, out, "the line", func(s string) bool { return strings.Contains(s, "| a line") })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(tc.path)
		if fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), "a line") || strings.Contains(string(b), "keep me") {
			t.Errorf("%s: mode %04o, content:\n%s", tc.path, fi.Mode().Perm(), b)
		}
	}
}
