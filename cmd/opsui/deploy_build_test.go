package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployBuildCLI: `opsui deploy` runs the app's build: before it
// touches a host and streams its lines; the dry run and the deploy say
// when the artifact is cached (and the build does not run again), and
// --no-build-cache builds anew.
func TestDeployBuildCLI(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the operator's cache directory
	counter := filepath.Join(t.TempDir(), "builds")
	e := newDeployEnv(t, 2, "", "build:", `  run: ['echo built >> "$COUNTER"', 'echo "made for $APP" > MADE']`, "  env: {COUNTER: "+counter+"}")
	builds := func() int {
		b, _ := os.ReadFile(counter)
		return strings.Count(string(b), "\n")
	}

	out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run")
	if !strings.Contains(out, "build: will run 2 commands on this machine (timeout 10m0s): nothing cached for") || builds() != 0 {
		t.Errorf("dry run (%d builds):\n%s", builds(), out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	if !strings.Contains(out, "opsui: build | $ echo \"made for $APP\" > MADE") || !strings.Contains(out, "opsui: build: built in") || builds() != 1 {
		t.Errorf("first deploy (%d builds):\n%s", builds(), out)
	}
	for _, h := range e.fleet.Hosts {
		if got := sshOutput(t, h.Address(), e.cfg, "cat "+e.deployTo(h.Name)+"/current/MADE"); strings.TrimSpace(got) != "made for app" {
			t.Errorf("%s: MADE = %q", h.Name, got)
		}
	}

	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run")
	if !strings.Contains(out, "build: cached (") {
		t.Errorf("dry run of a built commit:\n%s", out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")
	if !strings.Contains(out, "opsui: build: cached (") || strings.Contains(out, "build | ") || builds() != 1 {
		t.Errorf("redeploy (%d builds):\n%s", builds(), out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes", "--no-build-cache")
	if !strings.Contains(out, "--no-build-cache): building again") || builds() != 2 {
		t.Errorf("--no-build-cache (%d builds):\n%s", builds(), out)
	}
}
