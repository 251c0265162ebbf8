package deploy

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

// TestSecretSources: each source's value and each one's failure, which
// names the secret as ‹secret NAME› and never holds a value.
func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	good, open := filepath.Join(dir, "good"), filepath.Join(dir, "open")
	os.WriteFile(good, []byte("from-file\n"), 0o600)
	os.WriteFile(open, []byte("leaky-value\n"), 0o644)
	app := inventory.App{Name: "shop", Secrets: map[string]inventory.SecretSource{
		"env":     {Env: "SHOP_X"},
		"unset":   {Env: "SHOP_UNSET"},
		"file":    {File: good},
		"open":    {File: open},
		"missing": {File: filepath.Join(dir, "nope")},
		"cmd":     {Command: "echo from-command"},
		"fails":   {Command: "echo the vault is sealed >&2; exit 2"},
		"slow":    {Command: "sleep 5", Timeout: inventory.Duration(200 * time.Millisecond)},
		"empty":   {Command: "true"},
	}}
	sec := &Secrets{Getenv: func(k string) string { return map[string]string{"SHOP_X": "from-env"}[k] }}
	ctx := context.Background()
	for name, want := range map[string]string{"env": "from-env", "file": "from-file", "cmd": "from-command"} {
		if v, err := sec.Resolve(ctx, app, name); err != nil || v != want {
			t.Errorf("%s = %q, %v; want %q", name, v, err, want)
		}
	}
	for name, want := range map[string]string{
		"unset":   "environment variable SHOP_UNSET is not set",
		"open":    "is readable by others (mode 0644)",
		"missing": "no such file",
		"fails":   "exit status 2: the vault is sealed",
		"slow":    "did not finish within 200ms",
		"empty":   "gave an empty value",
		"nothere": "not declared",
	} {
		began := time.Now()
		_, err := sec.Resolve(ctx, app, name)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "‹secret "+name+"›") ||
			strings.Contains(err.Error(), "leaky-value") {
			t.Errorf("%s: %v; want ‹secret %s› and %q", name, err, name, want)
		}
		if time.Since(began) > 3*time.Second {
			t.Errorf("%s took %v", name, time.Since(began))
		}
	}
}

// TestEnvFileRoundTrip: what RenderEnv writes, ParseEnvFile reads back
// exactly (quotes, $, newlines); hand-written forms are read too, and a
// line that is not KEY=value is reported, not guessed.
func TestEnvFileRoundTrip(t *testing.T) {
	vals := map[string]string{"A": "plain", "B": `it's "quoted" $HOME \n`, "C": "two\nlines", "D": "", "E": "a=b c"}
	env := map[string]inventory.EnvValue{}
	for k, v := range vals {
		env[k] = inventory.EnvValue{Value: v}
	}
	f, err := RenderEnv(context.Background(), inventory.App{Name: "shop", Env: env}, inventory.Host{Name: "web1"}, &Secrets{}, []byte("k"))
	if err != nil {
		t.Fatal(err)
	}
	got, bad := ParseEnvFile(string(f.Content))
	if len(bad) > 0 || len(got) != len(vals) {
		t.Fatalf("parsed %q, bad lines %v from:\n%s", got, bad, f.Content)
	}
	for k, v := range vals {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	hand, bad := ParseEnvFile("# comment\nexport X=\"a \\\"b\\\"\"\nY=1 # note\nnot a line\nZ='open\n")
	if hand["X"] != `a "b"` || hand["Y"] != "1" || len(bad) != 2 || bad[0] != 4 || bad[1] != 5 {
		t.Errorf("hand-written: %q, bad %v", hand, bad)
	}
}
