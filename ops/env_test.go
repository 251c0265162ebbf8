package ops

import (
	"bytes"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// TestEnvShowAndDiff deploys an app with an environment (a plain value
// and a secret from an environment variable) to two real sshd hosts:
// env show masks the secret, env diff finds nothing; then one host's
// shared/.env is edited by hand (a value changed, a key added) and the
// other's secret is replaced: env diff names each host and key, by hash,
// printing no value. The dry run names the secret, never its value.
func TestEnvShowAndDiff(t *testing.T) {
	const secret = "s3cr3t-DIFF-4b1e"
	t.Setenv("OPSUI_TEST_API_KEY", secret)
	e := newDeployEnv(t, 2,
		"env:",
		"  GREETING: hello world",
		"  API_KEY: {secret: api}",
		"secrets:",
		"  api: {env: OPSUI_TEST_API_KEY}")
	ctx := t.Context()
	pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	var dry bytes.Buffer
	pv.Plan.Describe(&dry)
	if strings.Contains(dry.String(), secret) || !strings.Contains(dry.String(), "API_KEY=‹secret api›, GREETING") {
		t.Errorf("dry run:\n%s", dry.String())
	}
	if out, err := e.svc.Deploy(ctx, pv.Plan, IO{}); err != nil || out.Failed() != nil {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	tg, err := e.svc.Target(ctx, Scope{App: "app", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	shown, err := e.svc.EnvShow(ctx, tg)
	if err != nil || len(shown) != 2 || len(shown[0].Entries) != 2 {
		t.Fatalf("env show: %+v %v", shown, err)
	}
	if en := shown[0].Entries[0]; en.Key != "API_KEY" || en.Value != "‹secret api›" || en.Secret != "api" || en.From != EnvFromApp {
		t.Errorf("env show API_KEY: %+v", en)
	}
	diff, err := e.svc.EnvDiff(ctx, tg)
	if err != nil || !diff.Clean() {
		t.Fatalf("env diff right after the deploy: %+v %v", diff, err)
	}

	h0, h1 := e.Fleet.Hosts[0].Name, e.Fleet.Hosts[1].Name
	env0 := remote.Quote(e.deployTo(h0) + "/shared/.env")
	env1 := remote.Quote(e.deployTo(h1) + "/shared/.env")
	e.sh(t, 1, "sed -i 's/^GREETING=.*/GREETING=hi/' "+env1+" && echo EXTRA=1 >> "+env1)
	e.sh(t, 0, "sed -i 's/^API_KEY=.*/API_KEY=leaked-and-replaced/' "+env0)
	diff, err = e.svc.EnvDiff(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range diff.Rows {
		got[r.Key] = strings.Join(r.States(), ", ")
		if !r.Disagree {
			t.Errorf("%s: the hosts' values differ, but the row says they agree", r.Key)
		}
	}
	want := map[string]string{"API_KEY": h0 + ": differs", "GREETING": h1 + ": differs", "EXTRA": h1 + ": extra"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("env diff %s = %q, want %q", k, got[k], w)
		}
	}
	if len(got) != len(want) || diff.Clean() {
		t.Errorf("env diff rows %v", got)
	}
	// A host whose .env is gone is named, not skipped.
	e.sh(t, 1, "rm "+env1)
	diff, err = e.svc.EnvDiff(ctx, tg)
	if err != nil || !strings.Contains(diff.Unreadable[h1], "no ") {
		t.Errorf("env diff without %s's .env: %+v %v", h1, diff, err)
	}
}
