// Package tuitest drives the real opsui binary in a real terminal: a tmux
// session on a private server, keys sent with send-keys, the screen read
// with capture-pane. It is how the console is tested end to end, as a person
// would use it.
package tuitest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// Term is one program running in a tmux pane.
type Term struct {
	t      testing.TB
	socket string
	name   string
}

// Start runs argv in a new tmux session of size w x h with env added to the
// environment, on a tmux server private to this test. The session is killed
// at cleanup. tmux must be installed (make test installs it).
func Start(t testing.TB, w, h int, env []string, argv ...string) *Term {
	t.Helper()
	testenv.RequireProgram(t, "tmux", "tmux")
	dir, err := os.MkdirTemp("", "tuitest")
	if err != nil {
		t.Fatal(err)
	}
	tm := &Term{t: t, socket: filepath.Join(dir, "tmux.sock"), name: "opsui"}
	args := []string{"new-session", "-d", "-s", tm.name, "-x", fmt.Sprint(w), "-y", fmt.Sprint(h)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	// After the program exits, the pane says how, for WaitExit.
	args = append(args, strings.Join(quoteAll(argv), " ")+`; echo "[exited $?]"; exec sleep 3600`)
	cmd := exec.Command("tmux", append([]string{"-S", tm.socket, "-f", "/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "TERM=xterm-256color")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start tmux: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("tmux", "-S", tm.socket, "kill-server").Run()
		os.RemoveAll(dir)
	})
	return tm
}

func quoteAll(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return out
}

func (tm *Term) tmux(args ...string) string {
	tm.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", tm.socket}, args...)...).CombinedOutput()
	if err != nil {
		tm.t.Fatalf("tmux %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// Keys sends tmux key names ("j", "Enter", "Escape", "Space", "C-c").
func (tm *Term) Keys(keys ...string) {
	tm.t.Helper()
	tm.tmux(append([]string{"send-keys", "-t", tm.name}, keys...)...)
}

// Type sends text literally.
func (tm *Term) Type(text string) {
	tm.t.Helper()
	tm.tmux("send-keys", "-t", tm.name, "-l", text)
}

// Screen returns what the terminal shows now.
func (tm *Term) Screen() string {
	tm.t.Helper()
	return tm.tmux("capture-pane", "-p", "-t", tm.name)
}

// WaitFor waits until the screen satisfies ok, failing the test with the
// last screen after timeout.
func (tm *Term) WaitFor(what string, timeout time.Duration, ok func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := tm.Screen()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("timed out after %s waiting for %s; the screen:\n%s", timeout, what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitText waits until the screen contains text.
func (tm *Term) WaitText(text string, timeout time.Duration) string {
	tm.t.Helper()
	return tm.WaitFor(fmt.Sprintf("%q", text), timeout, func(s string) bool { return strings.Contains(s, text) })
}

// WaitExit waits for the program to exit and returns its exit status.
func (tm *Term) WaitExit(timeout time.Duration) int {
	tm.t.Helper()
	s := tm.WaitText("[exited ", timeout)
	var code int
	fmt.Sscanf(s[strings.LastIndex(s, "[exited ")+len("[exited "):], "%d]", &code)
	return code
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
	// buildEnv is the environment the test binary started with: go build
	// runs in it, not under a HOME a test set for opsui (which would hide
	// the Go build and module caches and rebuild everything).
	buildEnv = os.Environ()
)

// Build compiles opsui once per test binary and returns the path.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "opsui-bin")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "opsui")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/opsui/opsui/cmd/opsui")
		cmd.Env = buildEnv
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}
