package deploy

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

var updateSystemd = flag.Bool("update-systemd", false, "rewrite testdata/systemd.golden")

// systemdFleet is a fleet of two web hosts under systemd, web1's deploy_to
// one that needs quoting and holds a % and a $ systemd would expand.
func systemdFleet(t *testing.T, web1DeployTo string) *inventory.Fleet {
	t.Helper()
	doc := `environments: [{name: production}]
roles:
  web:
    process: systemd
    sudo: true
    options: {wsgi: "shopsite.wsgi:application", workers: "3"}
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    env: {DEBUG: "0"}
hosts:
  - name: web1
    address: 10.0.0.1
    user: deploy
    env: production
    roles: [web]
    deploy_to: ` + web1DeployTo + `
    settings:
      web:
        options: {bind: "10.0.0.1:8000", unit: shop-web-1.service}
  - name: web2
    address: 10.0.0.2
    env: production
    roles: [web]
`
	f, err := inventory.DecodeYAML("fleet.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSystemdUnitGolden: the unit opsui renders for a web host under
// systemd: --chdir on current's path, ExecReload HUP, quoting and escaping.
func TestSystemdUnitGolden(t *testing.T) {
	f := systemdFleet(t, `"/srv/my shop/100%/$HOME/"`)
	var got strings.Builder
	for i, h := range f.Hosts {
		s, err := SystemdUnit(f, f.Apps[0], h, []string{"deploy", ""}[i])
		if err != nil {
			t.Fatal(err)
		}
		got.WriteString(s + "\n")
	}
	golden := filepath.Join("testdata", "systemd.golden")
	if *updateSystemd {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("units:\n%s\nwant (go test -run TestSystemdUnitGolden -update-systemd to rewrite):\n%s", got.String(), want)
	}
	if inventory.SystemdUnit("shop", f.SettingsFor(f.Hosts[1], "web")) != "shop-web.service" {
		t.Errorf("web2's default unit is not shop-web.service")
	}
}

// TestSystemdUnitVerifies runs systemd-analyze verify on the unit of a
// host whose deploy_to needs quoting and escaping: systemd reads it
// without a warning and finds its program (which it checks exists).
func TestSystemdUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("OPSUI_TEST_REQUIRE_SSHD") != "" && runtime.GOOS == "linux" {
			t.Fatal("systemd-analyze is not installed (scripts/install-deps.sh installs systemd)")
		}
		t.Skip("no systemd-analyze")
	}
	deployTo := filepath.Join(t.TempDir(), "my shop", "100%", "$x")
	py := filepath.Join(deployTo, "current", "venv", "bin", "python")
	if err := os.MkdirAll(filepath.Dir(py), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(py, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f := systemdFleet(t, `"`+deployTo+`"`)
	unit, err := SystemdUnit(f, f.Apps[0], f.Hosts[0], "root")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "shop-web-1.service")
	if err := os.WriteFile(file, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s\n%s", err, out, unit)
	}
	// The check can fail: a program that does not exist is reported.
	os.Remove(py)
	if out, err := exec.Command(analyze, "verify", file).CombinedOutput(); err == nil {
		t.Errorf("systemd-analyze verify found nothing wrong with a unit whose program is gone:\n%s", out)
	}
}
