package ops

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// TestEnvDrift: after a deploy on real sshd hosts no host drifts; once one
// host's shared/.env is edited by hand and another's is removed, EnvDrift
// names each of them with the key and state, or why its file could not be
// read, and no value.
func TestEnvDrift(t *testing.T) {
	const secret = "s3cr3t-DRIFT-5c2e"
	t.Setenv("OPSUI_TEST_API_KEY", secret)
	e := newDeployEnv(t, 3,
		"env:",
		"  GREETING: hello",
		"  API_KEY: {secret: api}",
		"secrets:",
		"  api: {env: OPSUI_TEST_API_KEY}")
	ctx := t.Context()
	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Before any deploy nothing was rendered: nothing to drift from.
	if d, err := e.svc.EnvDrift(ctx, f); err != nil || len(d.Hosts) != 0 || d.Checked != 0 {
		t.Fatalf("env drift before a deploy: %+v %v", d, err)
	}
	pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := e.svc.Deploy(ctx, pv.Plan, IO{}); err != nil || out.Failed() != nil {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	if d, err := e.svc.EnvDrift(ctx, f); err != nil || len(d.Hosts) != 0 || d.Checked != 3 {
		t.Fatalf("env drift right after the deploy: %+v %v", d, err)
	}
	h0, h1 := e.Fleet.Hosts[0].Name, e.Fleet.Hosts[1].Name
	e.sh(t, 0, "sed -i 's/^API_KEY=.*/API_KEY=rotated-by-hand/' "+remote.Quote(e.deployTo(h0)+"/shared/.env")+
		" && echo EXTRA=1 >> "+remote.Quote(e.deployTo(h0)+"/shared/.env"))
	e.sh(t, 1, "rm "+remote.Quote(e.deployTo(h1)+"/shared/.env"))
	d, err := e.svc.EnvDrift(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Hosts) != 2 || len(d.Hosts[h0]) != 1 || len(d.Hosts[h1]) != 1 {
		t.Fatalf("env drift: %+v", d)
	}
	if got := d.Hosts[h0][0].String(); got != "app: API_KEY differs, EXTRA extra" {
		t.Errorf("%s: %q", h0, got)
	}
	if got := d.Hosts[h1][0].String(); !strings.HasPrefix(got, "app: .env unreadable: no ") {
		t.Errorf("%s: %q", h1, got)
	}
	for h, ds := range d.Hosts {
		for _, x := range ds {
			if strings.Contains(x.String(), secret) || strings.Contains(x.String(), "rotated-by-hand") {
				t.Errorf("%s: a value in %q", h, x)
			}
		}
	}
}
