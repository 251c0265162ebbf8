package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServerConfRunsTheAppsConfAsItsOwnFile: the release's
// gunicorn.conf.py, run from opsui's server conf (and through the env conf),
// sees its own path in __file__, as under `gunicorn -c`, so a conf that
// finds shared/logs from there (the demo's accesslog) still does; and
// opsui's conf gets its own __file__ back.
func TestServerConfRunsTheAppsConfAsItsOwnFile(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	for _, env := range []bool{false, true} {
		dir := t.TempDir()
		rel := filepath.Join(dir, "releases", "1")
		for _, d := range []string{rel, filepath.Join(dir, "shared")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(rel, filepath.Join(dir, "current")); err != nil {
			t.Fatal(err)
		}
		write := func(path, text string) {
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write(filepath.Join(rel, "gunicorn.conf.py"), "import os\nseen = os.path.realpath(__file__)\n")
		write(filepath.Join(dir, "shared", ".env"), "A=1\n")
		write(filepath.Join(dir, "shared", "opsui_gunicorn.conf.py"), GunicornEnvConf(dir))
		server := filepath.Join(dir, "shared", "opsui_server.conf.py")
		write(server, GunicornServerConf(dir, "127.0.0.1:8000", 2, env))
		// gunicorn loads -c with importlib, which sets __file__: runpy does the same.
		out, err := exec.Command(python, "-c", `import runpy, sys
g = runpy.run_path(sys.argv[1])
print(g["seen"]); print(g["__file__"])`, server).CombinedOutput()
		if err != nil {
			t.Fatalf("env %v: %v\n%s", env, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if len(lines) != 2 || lines[0] != filepath.Join(rel, "gunicorn.conf.py") || lines[1] != server {
			t.Errorf("env %v: the app's conf saw __file__ %q and opsui's ended with %q; want %q and %q", env, lines[0], lines[len(lines)-1],
				filepath.Join(rel, "gunicorn.conf.py"), server)
		}
	}
}
