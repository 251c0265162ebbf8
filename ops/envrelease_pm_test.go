package ops

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// envSetUnderSupervisord is env set through the service on the demo shop
// whose gunicorn is a program of supervisord (TestDjangoUnderSupervisord):
// a rolling config release reloads each master through supervisorctl
// (the same master pid) and every host serves the new SHOP_HOSTNAME. With
// supervisord of the deploy user's own, the reload waits for the old
// workers: the new value is served as soon as the release returns.
func envSetUnderSupervisord(t *testing.T, e *userEnv, pid func(int) string, sudo bool) {
	t.Helper()
	ctx := t.Context()
	tg, err := e.svc.Target(ctx, Scope{App: "shop", Env: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cp, err := e.svc.PlanEnvChange(ctx, EnvChangeRequest{Target: tg, Action: store.ConfigSet, Assign: []string{"SHOP_HOSTNAME=served-after-env-set"},
		Strategy: deploy.Strategy{Kind: deploy.StrategyRolling, Batches: deploy.Batches{{N: 1}}, AutoRollback: true}})
	if err != nil {
		t.Fatal(err)
	}
	masters := []string{pid(0), pid(1)}
	var mu sync.Mutex
	var lines []string
	out, err := e.svc.ConfigRelease(ctx, cp, IO{Emit: func(ev remote.Event) {
		mu.Lock()
		lines = append(lines, ev.Host+" | "+ev.Line)
		mu.Unlock()
	}})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("env set under supervisord: %v %v%s", out.Result, err, failures(out))
	}
	mu.Lock()
	said := strings.Join(lines, "\n")
	mu.Unlock()
	if waited := strings.Count(said, "every worker of the previous environment has exited"); !sudo && waited != 2 {
		t.Errorf("the reload did not wait for the old workers on both hosts (supervisorctl pid):\n%s", said)
	}
	for i, h := range e.Fleet.Hosts {
		health := "curl -s http://" + h.Addr + ":8000/health/ || true"
		if body := e.sh(t, i, health); !sudo && !strings.Contains(body, "host=served-after-env-set") {
			t.Errorf("%s serves %q right after env set, want the new SHOP_HOSTNAME", h.Name, body)
		}
		testenv.WaitFor(t, 20*time.Second, h.Name+" serving the new SHOP_HOSTNAME", func() bool {
			return strings.Contains(e.sh(t, i, health), "host=served-after-env-set")
		})
		if got := pid(i); got != masters[i] {
			t.Errorf("%s: gunicorn master %s after env set, was %s: a config release reloads", h.Name, got, masters[i])
		}
	}
}
