//go:build linux

package main

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// TestRaiseFDLimit: a low soft limit is raised to the hard one, silently
// when that is high enough. Not parallel: it changes the limit of the whole
// test process (and puts it back).
func TestRaiseFDLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
			t.Errorf("restore the limit: %v", err)
		}
	})
	set := func(cur, hard uint64) {
		t.Helper()
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: cur, Max: hard}); err != nil {
			t.Fatal(err)
		}
	}
	get := func() syscall.Rlimit {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if orig.Max < fdWarnBelow {
		t.Skipf("the hard limit here is %d", orig.Max)
	}
	set(256, orig.Max)
	var out strings.Builder
	raiseFDLimit(&out)
	if r := get(); r.Cur != orig.Max || out.Len() != 0 {
		t.Errorf("soft limit %d (want %d), said %q", r.Cur, orig.Max, out.String())
	}
}

// TestRaiseFDLimitLowHard: under a low hard limit opsui says how many
// hosts fit. The limit is lowered in a child process (this test again):
// a hard limit, once lowered, cannot be raised back without privileges.
func TestRaiseFDLimitLowHard(t *testing.T) {
	if os.Getenv("OPSUI_RLIMIT_CHILD") == "1" {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 256, Max: 1000}); err != nil {
			t.Fatal(err)
		}
		raiseFDLimit(os.Stdout)
		var r syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur != 1000 {
			t.Fatalf("soft limit %d: %v", r.Cur, err)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRaiseFDLimitLowHard$", "-test.v")
	cmd.Env = append(os.Environ(), "OPSUI_RLIMIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), "open-file limit is 1000 (hard limit 1000)") || !strings.Contains(string(out), "about 936 hosts") {
		t.Errorf("said %q", out)
	}
}
