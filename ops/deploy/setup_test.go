package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestSetupScriptQuotesEveryValue runs the setup script of a host whose
// deploy_to and shared entry hold quotes and command substitutions with
// this machine's shell: they are created under their literal names, no
// command in them runs, and the report names them as they are. The dry
// run before creates nothing.
func TestSetupScriptQuotesEveryValue(t *testing.T) {
	dir := t.TempDir()
	deployTo := filepath.Join(dir, `it's "$(touch pwned1)" here`)
	entry := "media `touch pwned2`/"
	app := inventory.App{Name: "shop", DeployTo: deployTo, Shared: []string{entry, "conf $(touch pwned3).py"}}
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "test"}}, Apps: []inventory.App{app},
		Hosts: []inventory.Host{{Name: "web1", Env: "test", Roles: []string{"web"}}}}
	run := func(o SetupOptions) string {
		t.Helper()
		script, err := SetupScript(f, app, f.Hosts[0], o)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("/bin/sh", "-c", script)
		cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
		out, _ := cmd.CombinedOutput() // exit 1: the shared file needs a human
		return string(out)
	}
	out := run(SetupOptions{DryRun: true})
	if !strings.Contains(out, "would do: created deploy_to "+deployTo+"\n") {
		t.Errorf("dry run:\n%s", out)
	}
	if _, err := os.Stat(deployTo); !os.IsNotExist(err) {
		t.Errorf("the dry run created %s: %v", deployTo, err)
	}
	out = run(SetupOptions{})
	for _, want := range []string{"done: created deploy_to " + deployTo + "\n", "done: created shared entry " + entry + ": " + deployTo + "/shared/media `touch pwned2`\n",
		"needs a human: shared file conf $(touch pwned3).py is missing: each deploy links it into the release; put it in place\n" +
			"  $ install -m 0600 YOUR-FILE '" + strings.ReplaceAll(deployTo, "'", `'\''`) + "/shared/conf $(touch pwned3).py'\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if st, err := os.Stat(filepath.Join(deployTo, "shared", "media `touch pwned2`")); err != nil || !st.IsDir() {
		t.Errorf("the shared directory under its literal name: %v", err)
	}
	for _, p := range []string{"pwned1", "pwned2", "pwned3"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("a value ran as a command: %s exists", p)
		}
	}
}

// TestParseSetupOutput reads the three lists back from a host's output:
// commands and diff lines belong to the item before them, other lines
// (a tool's own output, stderr's summary) to none.
func TestParseSetupOutput(t *testing.T) {
	r := ParseSetupOutput("web1", []string{
		"would do: created deploy_to /srv/shop",
		"already right: python: /usr/bin/python3 3.11.2 imports venv",
		"needs a human: supervisord program shop-web /etc/x.conf differs from what opsui renders: left alone",
		"  | -startretries=9",
		"  | +startretries=3",
		"needs a human: deploy may not create deploy_to /srv",
		"  $ sudo install -d -o deploy -g deploy /srv",
		"some tool's own line",
		"  $ not a command of any item",
	})
	if len(r.Done) != 1 || len(r.Right) != 1 || len(r.Human) != 2 || r.Ready() {
		t.Fatalf("%+v", r)
	}
	if d := r.Human[0].Diff; len(d) != 2 || d[1] != "+startretries=3" || len(r.Human[0].Commands) != 0 {
		t.Errorf("diff: %+v", r.Human[0])
	}
	if c := r.Human[1].Commands; len(c) != 1 || c[0] != "sudo install -d -o deploy -g deploy /srv" {
		t.Errorf("commands: %+v", r.Human[1])
	}
}
