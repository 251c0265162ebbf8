package ops

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// TestExecInApp: exec with an app runs the command on real sshd hosts in
// the app's current release (each host's own deploy_to) with its
// shared/.env loaded, so a secret's value reaches the command; ps on the
// host while it runs shows no value of it, nor does the recorded command.
// A host where the app is not deployed fails, saying so; an unknown app is
// refused before anything runs.
func TestExecInApp(t *testing.T) {
	const secret = "s3cr3t-EXEC-77d0"
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
	if out, err := e.svc.Deploy(ctx, pv.Plan, IO{}); err != nil || out.Failed() != nil {
		t.Fatalf("deploy: %+v %v", out, err)
	}
	f, err := e.svc.Store.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const command = `printf 'key=%s greeting=%s pwd=%s\n' "$API_KEY" "$GREETING" "$PWD"; echo ps:; ps -eo args`
	var mu sync.Mutex
	lines := map[string][]string{}
	res, rec, err := e.svc.Exec(ctx, ExecRequest{Hosts: f.Hosts, Command: command, App: "app"}, func(ev remote.Event) {
		if ev.Kind == remote.EventStdout || ev.Kind == remote.EventStderr {
			mu.Lock()
			lines[ev.Host] = append(lines[ev.Host], ev.Line)
			mu.Unlock()
		}
	})
	if err != nil || res.OK != 2 {
		t.Fatalf("exec --app: %+v %v\n%v", res, err, lines)
	}
	for _, h := range f.Hosts {
		out := lines[h.Name]
		want := "key=" + secret + " greeting=hello world pwd=" + e.deployTo(h.Name) + "/current"
		if len(out) == 0 || out[0] != want {
			t.Errorf("%s: first line %q, want %q", h.Name, out, want)
		}
		ps := false
		for _, l := range out[1:] {
			if l == "ps:" {
				ps = true
			}
			if ps && strings.Contains(l, secret) {
				t.Errorf("%s: ps shows the secret: %q", h.Name, l)
			}
		}
		if !ps || len(out) < 4 {
			t.Errorf("%s: no ps listing: %q", h.Name, out)
		}
	}
	run, err := e.svc.Store.Run(ctx, rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if run.Command != command || run.App != "app" || run.Env != "test" {
		t.Errorf("recorded run: command %q app %q env %q", run.Command, run.App, run.Env)
	}

	// Where the app has no current release, the host fails and says so.
	h1 := f.Hosts[1].Name
	e.sh(t, 1, "rm "+remote.Quote(e.deployTo(h1)+"/current"))
	lines = map[string][]string{}
	res, _, err = e.svc.Exec(ctx, ExecRequest{Hosts: f.Hosts[1:], Command: "echo ran", App: "app"}, func(ev remote.Event) {
		if ev.Kind == remote.EventStderr || ev.Kind == remote.EventStdout {
			lines[ev.Host] = append(lines[ev.Host], ev.Line)
		}
	})
	if err != nil || res.OK != 0 || len(lines[h1]) != 1 || !strings.Contains(lines[h1][0], "opsui: app has no current release on this host") {
		t.Errorf("exec --app without a release: %+v %v %q", res, err, lines[h1])
	}

	_, _, err = e.svc.Exec(ctx, ExecRequest{Hosts: f.Hosts, Command: "true", App: "ap"}, nil)
	var unknown *UnknownNameError
	if !errors.As(err, &unknown) || !strings.Contains(err.Error(), `did you mean "app"`) {
		t.Errorf("unknown app: %v", err)
	}
}
