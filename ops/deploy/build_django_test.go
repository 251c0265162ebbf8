package deploy

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// wheelPackage is a package of the app's own, built into a wheel by the
// build (pip wheel, no index needed) and pinned in requirements.txt.
var wheelPackage = map[string]string{
	"wheelsrc/setup.py":                    "from setuptools import setup\nsetup(name=\"opsui-buildtest\", version=\"1.0\", packages=[\"opsui_buildtest\"])\n",
	"wheelsrc/opsui_buildtest/__init__.py": "BUILT = \"from the build's wheel\"\n",
	"requirements.txt":                     "opsui-buildtest==1.0\n",
}

// TestBuildShipsWheelsToTheDjangoPreset: a Django project whose build runs
// `pip wheel` on the operator's machine deploys with the preset alone:
// every host's release has the wheels/ the build made (and the file it
// generated), its virtualenv installed the pinned package from them with
// no index, and the requirements check finds the pin met. Without the
// build the same commit leaves the pin unmet.
func TestBuildShipsWheelsToTheDjangoPreset(t *testing.T) {
	webtest.RequireDjango(t)
	if err := exec.Command(webtest.PythonPath, "-c", "import setuptools, pip").Run(); err != nil {
		testenv.Missing(t, webtest.PythonPath+" cannot run pip wheel ("+err.Error()+")", "python3-pip python3-setuptools")
	}
	tb, proj := newDjangoTestbed(t, 2)
	tb.git("config", "user.email", "dev@example.com")
	tb.git("config", "user.name", "Dev")
	tb.git("checkout", "-q", "-b", "wheels", proj.Hashes[webtest.DjangoAddTag]) // a healthy commit
	commit := tb.commit("ship our own package as a wheel", wheelPackage)
	counter := filepath.Join(t.TempDir(), "builds")
	cache := t.TempDir()
	tb.app.Build = &inventory.Build{Run: []string{
		webtest.PythonPath + " -m pip wheel --no-index --no-deps --no-build-isolation -w wheels ./wheelsrc",
		`rm -rf wheelsrc/build wheelsrc/*.egg-info; echo "$COMMIT" > BUILT_COMMIT; echo built >> "$COUNTER"`,
	}, Env: map[string]string{"COUNTER": counter, "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}}
	tb.app.StrictRequirements = true // an unmet pin fails the deploy
	tb.inv.Apps[0] = tb.app

	out, err := tb.deployer().Deploy(context.Background(), tb.buildPlan(commit, cache))
	if err != nil || out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy with a build: %v", err)
	}
	if n := builds(t, counter); n != 1 {
		t.Errorf("the build ran %d times", n)
	}
	for i, h := range tb.fleet.Hosts {
		rel := tb.deployTo + "/current"
		got := tb.sh(i, "cd "+rel+" && ls wheels && cat BUILT_COMMIT && ./venv/bin/python -c 'import opsui_buildtest; print(opsui_buildtest.BUILT)'")
		for _, want := range []string{"opsui_buildtest-1.0-py3-none-any.whl", commit, "from the build's wheel"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the release lacks %q:\n%s", h.Name, want, got)
			}
		}
		if log := tb.hostOutput(h.Name); !strings.Contains(log, "requirements: 1 of 1 met by") {
			t.Errorf("%s: the requirements check did not find the pin met:\n%s", h.Name, log)
		}
	}

	// The preview's requirements check knows the cached build ships
	// wheels/; without the build it finds the pin unmet.
	var targets []remote.Target
	for _, h := range tb.fleet.Hosts {
		targets = append(targets, tb.targets[h.Name])
	}
	if unmet := UnmetRequirements(context.Background(), tb.pool, targets, tb.buildPlan(commit, cache)); unmet != nil {
		t.Errorf("the preview checked the requirements of a build that ships wheels/: %q", unmet)
	}
	tb.app.Build = nil
	tb.inv.Apps[0] = tb.app
	unmet := UnmetRequirements(context.Background(), tb.pool, targets, tb.plan(commit, Strategy{}))
	if ws := unmet[tb.fleet.Hosts[0].Name]; len(ws) != 1 || ws[0] != "opsui-buildtest==1.0 is required, not installed" {
		t.Errorf("without the build the preview finds %q", ws)
	}

	// The same commit without the build: nothing made wheels/, the strict
	// requirements check fails the release's build on the hosts.
	out, _ = tb.deployer().Deploy(context.Background(), tb.plan(commit, Strategy{Kind: "all"}))
	if out == nil || out.Result == store.ReleaseSuccess {
		t.Fatal("without the build the unmet pin passed strict_requirements: the test proves nothing")
	}
}
