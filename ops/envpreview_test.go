package ops

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// TestPreviewEnvChanges: the deploy preview lists the keys of shared/.env
// the deploy changes on each host since opsui rendered it last: every key
// before the first deploy, none right after it, then a changed plain
// value, a key added, a key removed and a secret taking its value from
// another secret, by name only; a secret whose value changed at its
// source is not resolved by the preview.
func TestPreviewEnvChanges(t *testing.T) {
	const secret, secret2 = "s3cr3t-PREVIEW-1", "s3cr3t-PREVIEW-2"
	t.Setenv("OPSUI_TEST_API_KEY", secret)
	t.Setenv("OPSUI_TEST_API_KEY2", secret2)
	e := newDeployEnv(t, 2,
		"env:",
		"  GREETING: hello",
		"  OLD: gone soon",
		"  API_KEY: {secret: api}",
		"secrets:",
		"  api: {env: OPSUI_TEST_API_KEY}")
	ctx := t.Context()
	h0, h1 := e.Fleet.Hosts[0].Name, e.Fleet.Hosts[1].Name
	changes := func() string {
		t.Helper()
		pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "")
		if err != nil {
			t.Fatal(err)
		}
		var l []string
		for _, c := range pv.Plan.EnvChanges {
			l = append(l, c.String())
		}
		s := strings.Join(l, "\n")
		if strings.Contains(s, secret) || strings.Contains(s, secret2) {
			t.Errorf("a secret in the preview:\n%s", s)
		}
		return s
	}
	both := h0 + ", " + h1
	if got, want := changes(), "API_KEY=‹secret api› added on "+both+"\nGREETING added on "+both+"\nOLD added on "+both; got != want {
		t.Errorf("before the first deploy:\n%s\nwant:\n%s", got, want)
	}
	pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.Deploy(ctx, pv.Plan, IO{}); err != nil || out.Failed() != nil {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	t.Setenv("OPSUI_TEST_API_KEY", "rotated at its source")
	if got := changes(); got != "" {
		t.Errorf("right after the deploy: %q", got)
	}

	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	app := &f.Apps[0]
	app.Env["GREETING"] = inventory.EnvValue{Value: "hi"}
	app.Env["API_KEY"] = inventory.EnvValue{Secret: "api2"}
	app.Env["NEW"] = inventory.EnvValue{Value: "1"}
	delete(app.Env, "OLD")
	delete(app.Secrets, "api")
	app.Secrets["api2"] = inventory.SecretSource{Env: "OPSUI_TEST_API_KEY2"}
	if err := e.svc.Store.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	want := "API_KEY=‹secret api2› changed on " + both + "\nGREETING changed on " + both + "\nNEW added on " + both + "\nOLD removed on " + both
	if got := changes(); got != want {
		t.Errorf("after the fleet file changed:\n%s\nwant:\n%s", got, want)
	}
}
