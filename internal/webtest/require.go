// Package webtest holds the real-world fixtures of opsui's web tests: a real
// nginx load balancer in front of test backends ([StartNginx]), a load
// generator that counts failed requests and the releases it was served
// ([StartLoad]), and a check of a host's release layout ([CheckRelease]).
//
// The helpers need Debian's packages (scripts/install-deps.sh installs
// them): nginx at [NginxPath], and for the Django tests python3-django seen
// by [PythonPath] and gunicorn at [GunicornPath]. Without them the
// Require functions skip the test, or fail it when the environment variable
// OPSUI_TEST_REQUIRE_SSHD is 1, as `make test` sets it.
package webtest

import (
	"os/exec"
	"sync"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
)

// Paths of the Debian programs the web tests use. Debian's Python packages
// are visible to /usr/bin/python3 only, not to another python3 on PATH.
const (
	NginxPath    = "/usr/sbin/nginx"
	GunicornPath = "/usr/bin/gunicorn"
	PythonPath   = "/usr/bin/python3"
)

// RequireEnv is the environment variable that turns a missing program into a
// failed test when it is "1".
//
// Deprecated: use [testenv.RequireEnv], or better [testenv.RequireProgram]
// and [testenv.Missing], which apply it.
const RequireEnv = testenv.RequireEnv

// RequireNginx skips (or fails, see [testenv.Missing]) the test when nginx
// is missing.
func RequireNginx(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, NginxPath, "nginx")
}

// RequireDjango skips (or fails) the test when Debian's python3 with Django
// and python3-venv is missing.
func RequireDjango(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, PythonPath, "python3")
	djangoOnce.Do(func() {
		djangoErr = exec.Command(PythonPath, "-c", "import django, ensurepip, venv").Run()
	})
	if djangoErr != nil {
		testenv.Missing(t, PythonPath+" cannot import django or venv ("+djangoErr.Error()+")", "python3-django python3-venv")
	}
}

// RequireGunicorn skips (or fails) the test when Debian's gunicorn, Django
// or nginx is missing: everything a Django deploy behind a load balancer
// needs.
func RequireGunicorn(t testing.TB) {
	t.Helper()
	testenv.RequireFile(t, GunicornPath, "gunicorn")
	RequireDjango(t)
	RequireNginx(t)
}

var (
	djangoOnce sync.Once
	djangoErr  error
)
