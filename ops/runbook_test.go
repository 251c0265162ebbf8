package ops

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// runbookFleet places e's three hosts: web1 and web2 web hosts of
// production (protected), web3 a db host of production, and saves the
// fleet with two runbooks.
func runbookFleet(t *testing.T, svc *Service, hosts []inventory.Host) *inventory.Fleet {
	t.Helper()
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "staging"}, {Name: "production", Protected: true}}}
	roles := []string{"web", "web", "db"}
	for i, h := range hosts {
		h.Env, h.Roles = "production", []string{roles[i]}
		f.Hosts = append(f.Hosts, h)
	}
	f.Runbooks = []inventory.Runbook{
		{Name: "whoami", Run: `echo "on $(uname -n)"`, Roles: []string{"web"}},
		{Name: "dbonly", Run: "true", Roles: []string{"db"}, Envs: []string{"production"}},
	}
	if err := svc.Store.SaveFleet(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestRunbookRunsOnItsRolesAndIsRecorded: a runbook runs on the hosts of
// its roles in the environment asked for, and nowhere else, and is
// recorded as a run whose command reads "runbook NAME".
func TestRunbookRunsOnItsRolesAndIsRecorded(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 3)
	svc, hosts := serviceFor(t, e)
	ctx := context.Background()
	f := runbookFleet(t, svc, hosts)
	plan, err := PlanRunbook(f, RunbookRequest{Name: "whoami", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(runbookHostNames(plan.Hosts), ","); got != "web1,web2" || plan.Protected != "production" {
		t.Fatalf("plan hosts %s, protected %q", got, plan.Protected)
	}
	log := remotetest.NewLog()
	res, rec, err := svc.Runbook(ctx, plan, remote.RunOptions{}, log.Emit)
	if err != nil || res.OK != 2 || len(res.Hosts) != 2 {
		t.Fatalf("Runbook: %+v, %v", res, err)
	}
	if got := log.Text("web2", remote.EventStdout); got != "on web2\n" {
		t.Errorf("web2 said %q", got)
	}
	if got := log.Text("web3", remote.EventStdout); got != "" {
		t.Errorf("web3 (db) ran the web runbook: %q", got)
	}
	run, err := svc.Store.Run(ctx, rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if run.Kind != store.KindExec || run.Command != "runbook whoami" || run.Env != "production" || run.Result != store.RunOK {
		t.Errorf("recorded run %+v", run)
	}
	rows, err := svc.Store.RunHosts(ctx, run.ID)
	if err != nil || len(rows) != 2 || rows[0].Host != "web1" || rows[1].Host != "web2" {
		t.Errorf("recorded hosts %+v, %v", rows, err)
	}

	// Narrowed to one of its hosts.
	plan, err = PlanRunbook(f, RunbookRequest{Name: "whoami", Env: "production", Hosts: []string{"web2"}})
	if err != nil || len(plan.Hosts) != 1 || plan.Hosts[0].Name != "web2" {
		t.Fatalf("narrowed plan %+v, %v", plan.Hosts, err)
	}
}

// TestRunbookRefusesAChangedPlan: the command confirmed is the command
// that runs; a runbook edited since its plan is refused, nothing recorded.
func TestRunbookRefusesAChangedPlan(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 3)
	svc, hosts := serviceFor(t, e)
	ctx := context.Background()
	f := runbookFleet(t, svc, hosts)
	plan, err := PlanRunbook(f, RunbookRequest{Name: "whoami", Env: "production"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Store.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Runbooks[0].Run = "rm -rf /srv/shop"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, rec, err := svc.Runbook(ctx, plan, remote.RunOptions{}, nil)
	if !errors.Is(err, ErrRunbookChanged) || rec != nil {
		t.Fatalf("a changed runbook ran: %v", err)
	}
	if runs, _ := svc.Store.ListRuns(ctx, store.RunFilter{}); len(runs) != 0 {
		t.Errorf("a refused runbook was recorded: %+v", runs)
	}
}

// TestPlanRunbookRefusals: each request that cannot be met says why.
func TestPlanRunbookRefusals(t *testing.T) {
	f := &inventory.Fleet{
		Environments: []inventory.Environment{{Name: "staging"}, {Name: "production", Protected: true}},
		Hosts: []inventory.Host{{Name: "web1", Env: "production", Roles: []string{"web"}}, {Name: "db1", Env: "production", Roles: []string{"db"}},
			{Name: "stg1", Env: "staging", Roles: []string{"db"}}},
		Runbooks: []inventory.Runbook{{Name: "whoami", Run: "uname -n", Roles: []string{"web"}},
			{Name: "dbonly", Run: "true", Roles: []string{"db"}, Envs: []string{"production"}}},
	}
	var unknown *UnknownNameError
	var invalid *InvalidError
	for _, tt := range []struct {
		req  RunbookRequest
		want string
		as   any
	}{
		{RunbookRequest{Name: "whoamj", Env: "production"}, `unknown runbook "whoamj" (did you mean "whoami"?)`, &unknown},
		{RunbookRequest{Name: "whoami"}, `runbook whoami: say which environment (--env staging|production)`, &invalid},
		{RunbookRequest{Name: "whoami", Env: "prod"}, `unknown environment "prod"`, &unknown},
		{RunbookRequest{Name: "dbonly", Env: "staging"}, `runbook dbonly runs only in production, not staging`, &invalid},
		{RunbookRequest{Name: "whoami", Env: "staging"}, `runbook whoami: no host of role web in staging`, &invalid},
		{RunbookRequest{Name: "whoami", Env: "production", Hosts: []string{"db1"}}, `runbook whoami: db1 is not one of its hosts in production (web1)`, &invalid},
		{RunbookRequest{Name: "whoami", Env: "production", Hosts: []string{"web9"}}, `unknown host "web9"`, &unknown},
	} {
		_, err := PlanRunbook(f, tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.req, err, tt.want)
			continue
		}
		switch as := tt.as.(type) {
		case **UnknownNameError:
			if !errors.As(err, as) {
				t.Errorf("%+v: %T, want an *UnknownNameError", tt.req, err)
			}
		case **InvalidError:
			if !errors.As(err, as) {
				t.Errorf("%+v: %T, want an *InvalidError", tt.req, err)
			}
		}
	}
}
