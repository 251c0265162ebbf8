package deploy

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// TestRequirementsCheckAgainstARealVirtualenv builds a release's
// virtualenv as the preset does (Debian's Django through the system's
// site packages) and checks requirements.txt against it: a pin the host's
// Django does not satisfy and a missing package are warnings the deploy
// reports per host, or fail the step with strict_requirements; met pins
// and lines it cannot read say so.
func TestRequirementsCheckAgainstARealVirtualenv(t *testing.T) {
	webtest.RequireDjango(t)
	dir := t.TempDir()
	if out, err := exec.Command(webtest.PythonPath, "-m", "venv", "--system-site-packages", "--without-pip", filepath.Join(dir, "venv")).CombinedOutput(); err != nil {
		t.Fatalf("venv: %v\n%s", err, out)
	}
	django, err := exec.Command(webtest.PythonPath, "-c", "import django; print(django.get_version())").Output()
	if err != nil {
		t.Fatal(err)
	}
	installed := strings.TrimSpace(string(django))
	run := func(reqs string, strict bool) (string, string, bool) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "requirements.txt"), []byte(reqs), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("sh", "-c", "set -e\n"+requirementsCheckScript)
		cmd.Dir = dir
		cmd.Env = os.Environ()
		if strict {
			cmd.Env = append(cmd.Env, "OPSUI_STRICT_REQUIREMENTS=1")
		}
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err == nil
	}

	out, errOut, ok := run("# pins\nDjango>=3.2,<6  # the LTS\n-r more.txt\nsqlparse\n", false)
	if !ok || !strings.Contains(out, "virtualenv ready: 3.") || !strings.Contains(out, "requirements: 2 of 2 met by") || !strings.Contains(out, "requirements.txt:3: not checked: -r more.txt") || len(requirementWarnings(out)) != 0 {
		t.Errorf("met pins: ok=%v\n%s%s", ok, out, errOut)
	}

	reqs := "Django==3.1.2\nno-such-package-opsui==1.0\nDjango[argon2]~=" + installed + "\n"
	out, errOut, ok = run(reqs, false)
	ws := requirementWarnings(out)
	if !ok || len(ws) != 2 || ws[0] != "Django==3.1.2 is required, "+installed+" is installed" ||
		ws[1] != "no-such-package-opsui==1.0 is required, not installed" {
		t.Errorf("unmet pins: ok=%v warnings %q\n%s%s", ok, ws, out, errOut)
	}

	out, errOut, ok = run(reqs, true)
	if ok || !strings.Contains(errOut, "error: requirements: Django==3.1.2 is required, "+installed+" is installed") || !strings.Contains(errOut, "strict_requirements") {
		t.Errorf("strict: ok=%v\n%s%s", ok, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, ".opsui-requirements")); err == nil {
		t.Error("the check left its output file in the release")
	}
}

// TestUnmetRequirementsBeforeTheDeploy: the preview reads, on each real
// host, the target commit's pins that the host's python does not meet;
// a release shipping wheels/ is not checked.
func TestUnmetRequirementsBeforeTheDeploy(t *testing.T) {
	webtest.RequireDjango(t)
	tb := newTestbed(t, 2)
	tb.app.Preset = PresetDjango
	tb.inv.Apps = []inventory.App{tb.app}
	tb.commit("pin an old Django", map[string]string{"requirements.txt": "Django==3.1.2\nsqlparse\n"})
	p := tb.plan("main", Strategy{})
	var targets []remote.Target
	for _, h := range tb.fleet.Hosts {
		targets = append(targets, tb.targets[h.Name])
	}
	unmet := UnmetRequirements(context.Background(), tb.pool, targets, p)
	for _, h := range tb.fleet.Hosts {
		if ws := unmet[h.Name]; len(ws) != 1 || !strings.HasPrefix(ws[0], "Django==3.1.2 is required, 3.") {
			t.Errorf("%s: unmet %q", h.Name, ws)
		}
	}
	tb.commit("ship wheels", map[string]string{"wheels/README": "built with pip wheel\n"})
	if unmet := UnmetRequirements(context.Background(), tb.pool, targets, tb.plan("main", Strategy{})); unmet != nil {
		t.Errorf("a release with wheels/ was checked: %q", unmet)
	}
}
