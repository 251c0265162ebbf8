// Package testenv holds the environment helpers every opsui test harness
// shares, so that each rule lives once:
//
//   - [Missing], [RequireFile] and [RequireProgram]: a program a test needs
//     and this machine lacks skips the test, or fails it when [RequireEnv]
//     is "1" (`make test` sets it, so CI never passes by skipping);
//   - [FreePort]: a TCP port nothing listens on;
//   - [WaitFor]: poll a condition with a deadline;
//   - [EnvInt] and [EnvDuration]: a benchmark's or stress test's knobs from
//     the environment.
//
// It imports nothing of opsui's, so every harness (internal/sshtest,
// internal/webtest, internal/cachetest, internal/tuitest) and every test can
// use it.
package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// RequireEnv is the environment variable that turns a missing program from
// a skipped test into a failed one when it is "1".
const RequireEnv = "OPSUI_TEST_REQUIRE_SSHD"

// Strict reports whether a missing program fails the test ([RequireEnv] is
// "1") instead of skipping it.
func Strict() bool { return os.Getenv(RequireEnv) == "1" }

// Missing ends the test because what is missing: it fails it when [Strict],
// and skips it otherwise. install names the Debian package(s) that bring it
// (scripts/install-deps.sh installs them).
func Missing(t testing.TB, what, install string) {
	t.Helper()
	if Strict() {
		t.Fatalf("%s (and %s=1); install %s (scripts/install-deps.sh)", what, RequireEnv, install)
	}
	t.Skipf("%s; run `make test` or scripts/install-deps.sh, which install %s", what, install)
}

// RequireFile skips (or fails, see [Missing]) the test when path does not
// exist; install names the package that brings it.
func RequireFile(t testing.TB, path, install string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, path+" not found", install)
	}
}

// RequireProgram returns the path of the program name on PATH, and skips
// (or fails, see [Missing]) the test when there is none; install names the
// package that brings it.
func RequireProgram(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed", install)
	}
	return path
}

// FreePort returns a TCP port that nothing listens on at addr right now.
// Another process may take it before the caller listens: callers that
// start a server on it retry on a collision.
func FreePort(addr string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", addr, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pollEvery is how often WaitFor checks its condition: short, because some
// tests measure how long a change took with WaitFor's result.
const pollEvery = 5 * time.Millisecond

// WaitFor polls cond until it holds and returns how long that took; when
// timeout passes first it fails the test, naming what it waited for. The
// machines are shared: give a generous timeout and never assert a tight
// one.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > timeout {
			t.Fatalf("no %s within %v", what, timeout)
		}
		time.Sleep(pollEvery)
	}
	return time.Since(start)
}

// EnvInt returns the positive integer in the environment variable name, or
// def when it is unset or empty. Any other value fails the test: a knob set
// wrong must not run a different experiment silently.
func EnvInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// EnvDuration returns the duration (time.ParseDuration) in the environment
// variable name, or def when it is unset or empty; any other value, or one
// not above zero, fails the test.
func EnvDuration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("%s=%q: want a duration above zero, such as 10s", name, s)
	}
	return d
}

// ParseSizes reads the comma-separated fleet sizes ("2,10,50") of the
// environment variable name (named in the error); each must be a positive
// integer.
func ParseSizes(name, s string) ([]int, error) {
	var sizes []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s: %q is not a number of hosts (want e.g. \"2,10,50\")", name, f)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// EnvSizes returns the fleet sizes in the environment variable name
// (ParseSizes), or def when it is unset or empty; any other value fails
// the benchmark.
func EnvSizes(t testing.TB, name string, def []int) []int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	sizes, err := ParseSizes(name, s)
	if err != nil {
		t.Fatal(err)
	}
	return sizes
}
