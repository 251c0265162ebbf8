package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
)

// TestMigrationCheckCLI deploys the demo Django shop (Django preset, its
// own migrate command) to a real sshd host, commits a migration that drops
// a column, and drives the CLI: --dry-run shows the verdict and fails for
// rolling, passes for all; a rolling deploy is refused naming the
// operation; --allow-breaking-migrations goes out, and releases shows the
// verdict and who allowed it.
func TestMigrationCheckCLI(t *testing.T) {
	webtest.RequireDjango(t)
	e := newDeployEnv(t, 1, "", "preset: django", "migrate: ./venv/bin/python manage.py migrate --noinput")
	t.Setenv("OPSUI_OPERATOR", "dave@desk")
	shop, err := demoapp.Create(t.Context(), filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	e.git(t, "pull", "-q", "--no-rebase", "--allow-unrelated-histories", "--no-edit", shop.Dir, "main")
	e.git(t, "revert", "--no-edit", shop.Hash(demoapp.CommitBreakHealth)) // a healthy head
	mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes")

	e.commit(t, "drop Order.quantity", "shop/models.py", `from django.db import models


class Product(models.Model):
    name = models.CharField(max_length=100, unique=True)
    price_cents = models.PositiveIntegerField()


class Order(models.Model):
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="orders")
    created = models.DateTimeField(auto_now_add=True)
`)
	e.commit(t, "migration 0003", "shop/migrations/0003_drop_quantity.py", `from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("shop", "0002_order")]
    operations = [migrations.RemoveField(model_name="order", name="quantity")]
`)
	out, err := opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--dry-run", "--strategy", "rolling")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "this deploy would be refused") ||
		!strings.Contains(out, "migration check on web1: breaking (1 operation: 1 breaking") || !strings.Contains(out, "breaking shop.0003_drop_quantity #0 Remove field quantity from order") {
		t.Fatalf("rolling dry run: exit %d, %v\n%s", exitCode(err), err, out)
	}
	if out := mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run", "--strategy", "all"); !strings.Contains(out, "migration check on web1: breaking") {
		t.Errorf("dry run with strategy all:\n%s", out)
	}
	out, err = opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--yes", "--strategy", "rolling")
	if err == nil || !strings.Contains(out, "refused: a rolling deploy keeps old code serving") || !strings.Contains(out, "Remove field quantity from order") {
		t.Fatalf("rolling deploy: %v\n%s", err, out)
	}
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes", "--strategy", "rolling", "--allow-breaking-migrations")
	r := releaseOf(t, out)
	out = mustRun(t, e.db, "releases", "--env", "test")
	if !strings.Contains(out, r+" app/test: migrations breaking; shop.0003_drop_quantity Remove field quantity from order (allowed: --allow-breaking-migrations by dave@desk)") {
		t.Errorf("releases do not show the verdict:\n%s", out)
	}
	// The same words in --json, on the release they belong to.
	out = mustRun(t, e.db, "releases", "--env", "test", "--json")
	var rs []struct {
		ReleaseID string   `json:"release_id"`
		Notes     []string `json:"notes"`
	}
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		t.Fatalf("releases --json: %v\n%s", err, out)
	}
	if len(rs) < 2 || rs[0].ReleaseID != r || len(rs[0].Notes) != 1 ||
		rs[0].Notes[0] != "migrations breaking; shop.0003_drop_quantity Remove field quantity from order (allowed: --allow-breaking-migrations by dave@desk)" {
		t.Errorf("releases --json does not carry the verdict on its release:\n%s", out)
	}

	// A release whose migration ran, then rolled back: its migration file
	// is new to the live code but the database has it, and the next dry run
	// says so instead of promising to run it.
	e.commit(t, "migration 0004", "shop/migrations/0004_order_note.py", `from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("shop", "0003_drop_quantity")]
    operations = [migrations.AddField(model_name="order", name="note", field=models.TextField(null=True))]
`)
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run", "--strategy", "all")
	if !strings.Contains(out, "new migrations (1), run once before the switch:\n  shop/migrations/0004_order_note.py") {
		t.Errorf("dry run before the deploy does not call 0004 new:\n%s", out)
	}
	mustRun(t, e.db, "deploy", "app", "--env", "test", "--yes", "--strategy", "all")
	mustRun(t, e.db, "rollback", "app", "--env", "test", "--yes")
	out = mustRun(t, e.db, "deploy", "app", "--env", "test", "--dry-run", "--strategy", "all")
	if strings.Contains(out, "new migrations (") || !strings.Contains(out, "migrations the database already has (1), not run again:\n  shop/migrations/0004_order_note.py") ||
		!strings.Contains(out, "migration check: no pending migration") {
		t.Errorf("dry run after the rollback calls an applied migration new:\n%s", out)
	}
}

// TestDryRunChecksRequirements: --dry-run reads, on each real host, the
// requirements.txt pins the host's python does not meet, as the wizard's
// preview does; with strict_requirements the dry run fails (exit 1), as
// the deploy's build would.
func TestDryRunChecksRequirements(t *testing.T) {
	webtest.RequireDjango(t)
	for _, strict := range []bool{false, true} {
		lines := []string{"preset: django"}
		if strict {
			lines = append(lines, "strict_requirements: true")
		}
		e := newDeployEnv(t, 2, "", lines...)
		e.commit(t, "pin an old Django", "requirements.txt", "Django==3.1.2\n")
		out, err := opsuiCmd(t, e.db, "", "deploy", "app", "--env", "test", "--dry-run")
		for _, h := range []string{"web1", "web2"} {
			if !strings.Contains(out, "! "+h+": requirements: Django==3.1.2 is required, ") {
				t.Errorf("strict %v: the dry run does not say %s's Django misses the pin:\n%s", strict, h, out)
			}
		}
		switch {
		case !strict && err != nil:
			t.Errorf("a warning failed the dry run: %v\n%s", err, out)
		case strict && (exitCode(err) != 1 || !strings.Contains(err.Error(), "would fail its build on web1, web2: strict_requirements")):
			t.Errorf("strict: exit %d, %v\n%s", exitCode(err), err, out)
		}
	}
}
