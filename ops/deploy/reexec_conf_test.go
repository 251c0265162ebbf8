package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestServerConfCompiles: the configuration gunicorn reads, re-exec hook
// included, is valid Python.
func TestServerConfCompiles(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3")
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	f := filepath.Join(t.TempDir(), "conf.py")
	if err := os.WriteFile(f, []byte(GunicornServerConf("/srv/app", "127.0.0.1:8000", 2, true)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(py, "-m", "py_compile", f).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}
