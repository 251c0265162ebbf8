package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
)

// TestExecAppLoadsEnv: `opsui exec --app shop` on real sshd hosts runs the
// command in each host's shop/current with shop's shared/.env loaded: a
// plain value and a secret reach it; ps on the host while it runs shows
// neither the secret nor the .env's text, and the database holds no
// secret. Without --app the same command sees none of it.
func TestExecAppLoadsEnv(t *testing.T) {
	const secret = "s3cr3t-CLI-9a4c"
	t.Setenv("OPSUI_TEST_API", secret)
	fleet := sshtest.Start(t, 2)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	os.MkdirAll(filepath.Join(home, ".ssh"), 0o700)
	b, err := os.ReadFile(fleet.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), b, 0o600)
	doc := "environments:\n  - name: test\napps:\n  - name: shop\n    repo: /src/shop\n    deploy_to: /srv/shop\n" +
		"    env:\n      GREETING: hello from env\n      API_KEY: {secret: api}\n    secrets:\n      api: {env: OPSUI_TEST_API}\nhosts:\n"
	deployTo := map[string]string{}
	for _, h := range fleet.Hosts {
		d := filepath.Join(fleet.Dir, "deploy", h.Name)
		deployTo[h.Name] = d
		doc += fmt.Sprintf("  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n    deploy_to: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath, d)
		// The layout a deploy leaves: a release, current, shared/.env 0600.
		for _, dir := range []string{d + "/releases/20261205010000", d + "/shared"} {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(d+"/releases/20261205010000", d+"/current"); err != nil {
			t.Fatal(err)
		}
		env := "GREETING='hello from env'\nAPI_KEY='" + secret + "'\n"
		if err := os.WriteFile(d+"/shared/.env", []byte(env), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	os.WriteFile(file, []byte(doc), 0o600)
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)

	sum := sha256.Sum256([]byte(secret))
	command := `printf '%s|%s|' "$GREETING" "$PWD"; printf %s "$API_KEY" | sha256sum | cut -c1-16; echo ps:; ps -eo args`
	out, err := opsuiCmd(t, db, "", "exec", "--app", "shop", "--", command)
	if err != nil {
		t.Fatalf("exec --app: %v\n%s", err, out)
	}
	for _, h := range fleet.Hosts {
		want := fmt.Sprintf("%s | hello from env|%s/current|%s", h.Name, deployTo[h.Name], hex.EncodeToString(sum[:])[:16])
		if !strings.Contains(out, want+"\n") {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, secret) {
		t.Errorf("ps on a host shows the secret:\n%s", out)
	}
	if !strings.Contains(out, "ps -eo args") {
		t.Errorf("no ps listing:\n%s", out)
	}
	assertFileLacks(t, db, secret)

	out, err = opsuiCmd(t, db, "", "exec", "--", `echo "greeting=$GREETING."`)
	if err != nil || !strings.Contains(out, "web1 | greeting=.\n") {
		t.Errorf("exec without --app: %v\n%s", err, out)
	}
	out, err = opsuiCmd(t, db, "", "exec", "--app", "shp", "--", "true")
	if err == nil || !strings.Contains(err.Error(), `unknown app "shp" (did you mean "shop"?)`) {
		t.Errorf("exec --app shp: %v\n%s", err, out)
	}
}

// assertFileLacks fails when the file at path, or its SQLite journal,
// holds s.
func assertFileLacks(t *testing.T, path, s string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(b), s) {
			t.Errorf("%s holds the secret", p)
		}
	}
}
