package deploy

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

func TestParseMigrationCheck(t *testing.T) {
	op := `{"app": "shop", "file": "shop/migrations/0003_x.py", "index": 0, "migration": "0003_x", "op": "Remove field quantity from order", "reason": "drops column", "verdict": "breaking"}`
	for _, tc := range []struct {
		name, out string
		n         int
		err       string
	}{
		{"one op", "settings say hi\n" + op + "\n{\"done\": 1}\n", 1, ""},
		{"nothing pending", `{"done": 0}`, 0, ""},
		{"cut short", op + "\n", 0, "did not finish"},
		{"miscounted", op + "\n{\"done\": 2}\n", 0, "the check says 2"},
		{"bad verdict", strings.Replace(op, `"breaking"`, `"fine"`, 1) + "\n{\"done\": 1}\n", 0, "unknown migration verdict"},
		{"bad json", "{nope\n{\"done\": 1}\n", 0, "bad line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops, _, err := ParseMigrationCheck(tc.out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || len(ops) != tc.n {
				t.Fatalf("ops = %+v, err = %v; want %d ops", ops, err, tc.n)
			}
		})
	}
}

// TestNewMigrationsTheDatabaseHas: a migration file new to the code but
// applied by a release that was rolled back is not called new.
func TestNewMigrationsTheDatabaseHas(t *testing.T) {
	out := `{"app": "shop", "file": "/srv/shop/releases/x/shop/migrations/0004_y.py", "index": 0, "migration": "0004_y", "op": "Add field note to order", "reason": "nullable", "verdict": "safe"}
{"done": 1, "pending": [{"app": "shop", "migration": "0004_y", "file": "/srv/shop/releases/x/shop/migrations/0004_y.py"}, {"app": "orders", "migration": "0001_initial", "file": "/srv/shop/releases/x/apps/orders/migrations/0001_initial.py"}]}
`
	ops, pending, err := ParseMigrationCheck(out)
	if err != nil || len(ops) != 1 || len(pending) != 2 {
		t.Fatalf("ops %+v pending %+v: %v", ops, pending, err)
	}
	chk := &MigrationCheck{Host: "web1", Ops: ops, Pending: pending}
	files := []string{"shop/migrations/0003_x.py", "shop/migrations/0004_y.py", "apps/orders/migrations/0001_initial.py"}
	fresh, applied := SplitNewMigrations(files, chk)
	if !slices.Equal(fresh, files[1:]) || !slices.Equal(applied, files[:1]) {
		t.Errorf("fresh %v, applied %v", fresh, applied)
	}
	// A check that could not run knows nothing: every file stays new.
	for _, c := range []*MigrationCheck{nil, {Host: "web1", Err: "no python"}, {}} {
		if fresh, applied := SplitNewMigrations(files, c); !slices.Equal(fresh, files) || applied != nil {
			t.Errorf("check %+v: fresh %v, applied %v", c, fresh, applied)
		}
	}
}

func TestGateRefusesBreakingMigrationsOnlyWhereOldCodeServes(t *testing.T) {
	breaking := MigrationCheck{Ops: []MigrationOp{
		{App: "shop", Migration: "0003_x", Op: "Remove field quantity from order", Verdict: VerdictBreaking, Reason: "drops column", File: "shop/migrations/0003_x.py"},
		{App: "shop", Migration: "0003_x", Op: "Raw Python operation", Verdict: VerdictUnknown},
	}}
	unknown := MigrationCheck{Ops: breaking.Ops[1:]}
	for _, tc := range []struct {
		name   string
		kind   StrategyKind
		allow  bool
		old    bool
		check  MigrationCheck
		refuse bool
	}{
		{"rolling breaking", StrategyRolling, false, true, breaking, true},
		{"canary breaking", StrategyCanary, false, true, breaking, true},
		{"rolling allowed", StrategyRolling, true, true, breaking, false},
		{"all breaking", StrategyAll, false, true, breaking, false},
		{"first deploy", StrategyRolling, false, false, breaking, false},
		{"rolling unknown", StrategyRolling, false, true, unknown, false},
		{"check failed", StrategyRolling, false, true, MigrationCheck{Err: "boom"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Plan{Strategy: Strategy{Kind: tc.kind}, AllowBreakingMigrations: tc.allow}
			err := p.Gate(tc.check, tc.old)
			var be *BreakingMigrationError
			if got := errors.As(err, &be); got != tc.refuse {
				t.Fatalf("Gate = %v, want refused %v", err, tc.refuse)
			}
			if tc.refuse && (!strings.Contains(err.Error(), "Remove field quantity from order") || !strings.Contains(err.Error(), "shop/migrations/0003_x.py") ||
				strings.Contains(err.Error(), "Raw Python")) {
				t.Errorf("the refusal does not name the breaking operation and its file alone: %v", err)
			}
		})
	}
	if v := (MigrationCheck{Err: "boom"}).Verdict(); v != VerdictUnknown {
		t.Errorf("a check that failed is %s, want unknown", v)
	}
}

// dropQuantity is a release of the demo shop that drops Order.quantity
// (breaking for the old code, which still selects it) and runs a data
// migration (RunPython: unknown).
var dropQuantity = map[string]string{
	"shop/models.py": `from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100, unique=True)
    price_cents = models.PositiveIntegerField()
    note = models.TextField(null=True)


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    created = models.DateTimeField(auto_now_add=True)
`,
	"shop/migrations/0003_drop_quantity.py": `from django.db import migrations, models


def fill_notes(apps, schema_editor):
    apps.get_model("shop", "Product").objects.update(note="")


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_order")]
    operations = [
        migrations.AddField(model_name="product", name="note", field=models.TextField(null=True)),
        migrations.RemoveField(model_name="order", name="quantity"),
        migrations.RunPython(fill_notes, migrations.RunPython.noop),
    ]
`,
}

// TestDeployRefusesRollingWithBreakingMigration deploys the demo shop
// with the Django preset to real sshd hosts running gunicorn, then a
// release whose migration drops a column: rolling is refused before
// anything migrates or switches, naming the operation and its file; with
// --allow-breaking-migrations it goes out; both verdicts are recorded with
// the release, RunPython as unknown.
func TestDeployRefusesRollingWithBreakingMigration(t *testing.T) {
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	tb := newTestbed(t, 2)
	ctx := context.Background()
	repo := tb.useDemoShop()
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		return map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + net.JoinHostPort(h.Address, "8000") + "/health/",
			Options: map[string]string{"bind": h.Address + ":8000", "workers": "1"}}}
	}
	// The demo app's processes outlive the test's sshd: stop them.
	t.Cleanup(func() {
		for i := range tb.fleet.Hosts {
			tb.sh(i, `kill "$(cat `+tb.deployTo+`/shared/gunicorn.pid 2>/dev/null)" 2>/dev/null; true`)
		}
	})

	first := tb.deploy(repo.Hash(demoapp.CommitAddOrder), Strategy{Kind: StrategyAll})
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	// The first deploy brings every table: nothing breaks code that does not exist.
	c, allowed, ok, err := RecordedMigrationCheck(ctx, tb.st, "app", "test", first.ReleaseID)
	if err != nil || !ok || len(c.Ops) == 0 || c.Host != tb.fleet.Hosts[0].Name {
		t.Fatalf("first release's check: %+v %q %v %v", c, allowed, ok, err)
	}

	// On the greeting commit: the demo repository's head breaks /health/.
	tb.git("checkout", "-q", "-b", "drop", repo.Hash(demoapp.CommitGreeting))
	drop := tb.commit("drop Order.quantity", dropQuantity)
	rolling := Strategy{Kind: StrategyRolling, Batches: Batches{{N: 1}}, AutoRollback: true}

	// The preview checks the new code's migrations with the serving
	// release's Django, in a scratch directory it removes.
	pre, ok, err := tb.deployer().PreviewMigrations(ctx, tb.plan(drop, rolling))
	if err != nil || !ok || pre.Err != "" || pre.Verdict() != VerdictBreaking {
		t.Fatalf("preview check: %+v ok %v err %v", pre, ok, err)
	}
	if b := pre.With(VerdictBreaking); len(b) != 1 || b[0].Op != "Remove field quantity from order" || !strings.HasSuffix(b[0].File, "shop/migrations/0003_drop_quantity.py") {
		t.Errorf("preview's breaking operations: %+v", b)
	}
	if err := tb.plan(drop, rolling).Gate(pre, true); err == nil {
		t.Error("the preview's verdict does not refuse a rolling deploy")
	}
	if left := tb.sh(0, "ls -A "+tb.deployTo+"/.opsui-migcheck"); left != "" {
		t.Errorf("the preview left %q behind", left)
	}
	if cols := orderColumns(tb); !strings.Contains(cols, "quantity") {
		t.Errorf("the preview migrated: shop_order has %s", cols)
	}
	refused := tb.deploy(drop, rolling)
	if refused.Result != store.ReleaseFailed {
		t.Fatalf("a rolling deploy dropping a column ended %s, want failed", refused.Result)
	}
	for _, h := range refused.Hosts {
		if h.Step != StepMigrationCheck || h.Err == nil || !strings.Contains(h.Err.Error(), "Remove field quantity from order") ||
			!strings.Contains(h.Err.Error(), "0003_drop_quantity.py") {
			t.Errorf("%s: %s at %s: %v; want refused at %s naming the operation and its file", h.Host, h.Status, h.Step, h.Err, StepMigrationCheck)
		}
	}
	for i := range tb.fleet.Hosts {
		if rel, _ := tb.current(i); rel != first.ReleaseID {
			t.Errorf("host %d switched to %s although the deploy was refused", i, rel)
		}
	}
	// Nothing was migrated: the column is still there for the old code.
	if cols := orderColumns(tb); !strings.Contains(cols, "quantity") {
		t.Errorf("the refused deploy migrated: shop_order has %s", cols)
	}
	c, allowed, ok, err = RecordedMigrationCheck(ctx, tb.st, "app", "test", refused.ReleaseID)
	if err != nil || !ok || c.Verdict() != VerdictBreaking || allowed != "" {
		t.Fatalf("refused release's check: %+v allowed %q %v %v", c, allowed, ok, err)
	}
	want := map[string]MigrationVerdict{"Add field note to product": VerdictSafe, "Remove field quantity from order": VerdictBreaking, "Raw Python operation": VerdictUnknown}
	if len(c.Ops) != len(want) {
		t.Errorf("checked %d operations, want %d: %+v", len(c.Ops), len(want), c.Ops)
	}
	for _, o := range c.Ops {
		if v, ok := want[o.Op]; !ok || v != o.Verdict || o.Migration != "0003_drop_quantity" || !strings.HasSuffix(o.File, "shop/migrations/0003_drop_quantity.py") || o.Reason == "" {
			t.Errorf("operation %+v, want verdict %q", o, v)
		}
	}

	p := tb.plan(drop, rolling)
	p.AllowBreakingMigrations = true
	allowedOut, err := tb.deployer().Deploy(ctx, p)
	if err != nil || allowedOut.Result != store.ReleaseSuccess {
		tb.logf(allowedOut)
		t.Fatalf("deploy with --allow-breaking-migrations: %v %v", allowedOut.Result, err)
	}
	c, allowed, ok, err = RecordedMigrationCheck(ctx, tb.st, "app", "test", allowedOut.ReleaseID)
	if err != nil || !ok || c.Verdict() != VerdictBreaking || !strings.Contains(allowed, "--allow-breaking-migrations by tester") {
		t.Errorf("allowed release's check: %v allowed %q %v %v", c.Verdict(), allowed, ok, err)
	}
	if cols := orderColumns(tb); strings.Contains(cols, "quantity") {
		t.Errorf("the allowed deploy did not migrate: shop_order has %s", cols)
	}
}

// orderColumns lists the columns of shop_order in the migration host's
// database, read with sqlite itself.
func orderColumns(tb *testbed) string {
	return tb.sh(0, "/usr/bin/python3 -c 'import sqlite3, sys; print(\" \".join(r[1] for r in sqlite3.connect(sys.argv[1]).execute(\"PRAGMA table_info(shop_order)\")))' "+tb.deployTo+"/shared/db.sqlite3")
}
