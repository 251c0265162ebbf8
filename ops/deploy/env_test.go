package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// envCheckURLs adds /envcheck/ to the demo shop: what its settings and its
// environment hold, secrets as digests only.
const envCheckURLs = `import hashlib
import os

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.urls import path

from shop import views


def _d(v):
    return hashlib.sha256(v.encode()).hexdigest()[:16]


def envcheck(request):
    try:
        with connection.cursor() as c:
            c.execute("SELECT count(*) FROM django_migrations")
            n = c.fetchone()[0]
    except Exception:
        n = -1  # a host migrate did not run on: its own empty database
    body = "db=%s migrations=%d key=%s token=%s pin=%s flavor=%s\n" % (
        settings.DATABASES["default"]["NAME"], n, _d(settings.SECRET_KEY),
        _d(os.environ.get("SHOP_TOKEN", "")), _d(os.environ.get("SHOP_PIN", "")),
        os.environ.get("SHOP_FLAVOR", "-"))
    return HttpResponse(body, content_type="text/plain")


urlpatterns = [
    path("", views.index, name="index"),
    path("health/", views.health, name="health"),
    path("envcheck/", envcheck),
]
`

func digest(v string) string {
	s := sha256.Sum256([]byte(v))
	return hex.EncodeToString(s[:])[:16]
}

// The secrets of TestDjangoEnvAndSecrets: odd characters on purpose, so
// that quoting is exercised on the way to Django.
const (
	envSecret1  = `K3y-ENV-9q1z 'single' "double" $HOME \back`
	envSecret2  = `K3y-ENV-rotated-41aa`
	fileSecret  = "tok-FILE-77ab"
	cmdSecret   = "pin-CMD5e2d"
	secretInDB  = "ENV-9q1z" // not hex: hashes and tokens never hold it by chance
	dbFileName  = "custom-shop.sqlite3"
	flavorOfTwo = "two"
)

// TestDjangoEnvAndSecrets deploys the demo Django app, whose settings read
// its database path and secret key from the environment, with the django
// preset to two real sshd hosts running real gunicorn: an app env, a
// per-host override and secrets from an environment variable, a 0600 file
// and a command. Each host serves a page that proves the values reached
// Django (migrations ran into the database at the configured path, the
// secrets' digests); shared/.env is 0600 and the deploy user's; no secret
// is in the store's file (runs, output, hashes); a redeploy with a rotated
// secret is applied by gunicorn's HUP reload; no process's arguments
// hold a secret during the deploy.
func TestDjangoEnvAndSecrets(t *testing.T) {
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	tb := newTestbed(t, 2)
	ctx := context.Background()
	repo, err := demoapp.Create(ctx, filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	tb.repo = repo.Dir
	tb.git("checkout", "-q", "-b", "env", repo.Hash(demoapp.CommitGreeting)) // main's last commit breaks /health/
	tb.commit("envcheck page", map[string]string{"shopsite/urls.py": envCheckURLs})

	dir := t.TempDir()
	dbFile := filepath.Join(dir, "opsui.db")
	tb.st.Close()
	if tb.st, err = store.Open(ctx, dbFile); err != nil {
		t.Fatal(err)
	}
	tokFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("OPSUI_TEST_SHOP_KEY", envSecret1)
	dbPath := tb.deployTo + "/shared/" + dbFileName
	two := tb.fleet.Hosts[1].Name
	tb.app = inventory.App{Name: "app", Repo: repo.Dir, DeployTo: tb.deployTo, KeepReleases: 3, Preset: PresetDjango,
		Shared:  []string{"logs/"},
		Migrate: "./venv/bin/python manage.py migrate --noinput",
		Health:  &inventory.HealthCheck{URL: "http://127.0.0.1:8000/health/", Expect: "release=$RELEASE_ID", Retries: 30, Deadline: inventory.Duration(20 * time.Second)},
		Env: map[string]inventory.EnvValue{
			"SHOP_DB_PATH":      {Value: dbPath},
			"DJANGO_SECRET_KEY": {Secret: "shop_key"},
			"SHOP_TOKEN":        {Secret: "shop_token"},
			"SHOP_PIN":          {Secret: "shop_pin"},
		},
		EnvPerHost: map[string]map[string]inventory.EnvValue{two: {"SHOP_FLAVOR": {Value: flavorOfTwo}}},
		Secrets: map[string]inventory.SecretSource{
			"shop_key":   {Env: "OPSUI_TEST_SHOP_KEY"},
			"shop_token": {File: tokFile},
			"shop_pin":   {Command: "printf '%s-%s' pin CMD5e2d", Timeout: inventory.Duration(5 * time.Second)},
		}}
	tb.inv.Apps = []inventory.App{tb.app}
	tb.inv.Roles = nil
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		return map[string]inventory.RoleSettings{"web": {HealthURL: "http://" + h.Address + ":8000/health/",
			Options: map[string]string{"bind": h.Address + ":8000", "workers": "2"}}}
	}
	if err := inventory.Validate(tb.inv); err != nil {
		t.Fatalf("the test's fleet: %v", err)
	}

	check := func(key string) {
		t.Helper()
		for i, h := range tb.fleet.Hosts {
			flavor := "-"
			if h.Name == two {
				flavor = flavorOfTwo
			}
			want := fmt.Sprintf("db=%s migrations=", dbPath)
			body := tb.sh(i, "curl -s http://"+h.Addr+":8000/envcheck/")
			rest := fmt.Sprintf("key=%s token=%s pin=%s flavor=%s", digest(key), digest(fileSecret), digest(cmdSecret), flavor)
			// Migrations run once, on the first host: its database at
			// the configured path has them.
			if !strings.HasPrefix(body, want) || i == 0 && (strings.Contains(body, "migrations=0 ") || strings.Contains(body, "migrations=-1 ")) || !strings.HasSuffix(body, rest) {
				t.Errorf("%s serves %q, want %s<n> ... %s", h.Name, body, want, rest)
			}
			// Only the configured path has a database: migrate ran with the env.
			if got := tb.sh(i, "ls "+tb.deployTo+"/shared/ | grep sqlite3 || true"); got != dbFileName {
				t.Errorf("%s: shared/ holds databases %q, want only %s", h.Name, got, dbFileName)
			}
			if got := tb.sh(i, "stat -c '%a %U' "+tb.deployTo+"/shared/.env"); got != "600 "+tb.fleet.User {
				t.Errorf("%s: shared/.env is %q, want 600 %s", h.Name, got, tb.fleet.User)
			}
		}
	}
	// The hosts are processes of this machine: every process's arguments,
	// operator's side and hosts' alike, are watched during the deploy.
	stop := make(chan struct{})
	seen := make(chan string, 1)
	go func() {
		defer close(seen)
		for {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				b, _ := os.ReadFile(p)
				for _, sec := range []string{secretInDB, fileSecret, cmdSecret} {
					if bytes.Contains(b, []byte(sec)) {
						seen <- fmt.Sprintf("%s: %q", p, bytes.ReplaceAll(b, []byte{0}, []byte{' '}))
						return
					}
				}
			}
		}
	}()
	first := tb.deploy("env", Strategy{Kind: "all", AutoRollback: true})
	close(stop)
	if p, ok := <-seen; ok {
		t.Errorf("a secret was in a process's arguments during the deploy: %s", p)
	}
	if first.Result != store.ReleaseSuccess {
		tb.logf(first)
		t.Fatalf("first deploy: %s", first.Result)
	}
	check(envSecret1)

	// A rotated secret reaches the running master on the next deploy's HUP.
	t.Setenv("OPSUI_TEST_SHOP_KEY", envSecret2)
	pid := tb.sh(0, "cat "+tb.deployTo+"/shared/gunicorn.pid")
	second := tb.deploy("env", Strategy{Kind: "all", AutoRollback: true})
	if second.Result != store.ReleaseSuccess {
		tb.logf(second)
		t.Fatalf("second deploy: %s", second.Result)
	}
	if now := tb.sh(0, "cat "+tb.deployTo+"/shared/gunicorn.pid"); now != pid {
		t.Errorf("the gunicorn master changed (%s -> %s): the rotation was to be a reload", pid, now)
	}
	// The migration plan reads the configured database too (a default
	// one would appear in shared/, which check refuses).
	tb.app.MigratePlan = "./venv/bin/python manage.py showmigrations --plan"
	plan, err := tb.deployer().MigrationPlan(ctx, tb.plan("env", Strategy{}))
	if err != nil || len(plan.Plan) < 2 || len(Pending(plan.Plan)) != 0 {
		t.Errorf("migration plan: %+v, %v", plan, err)
	}
	check(envSecret2)
	for _, ev := range tb.events {
		if strings.Contains(ev.Line, "was started before the app declared its env") {
			t.Errorf("%s: %s (the master was started with opsui's env config)", ev.Host, ev.Line)
		}
	}

	hs, err := tb.st.EnvHashes(ctx, "app", "test")
	if err != nil || len(hs) != 9 {
		t.Fatalf("env hashes: %d, %v (want 4 keys on one host, 5 on the other)", len(hs), err)
	}
	tb.st.Close()
	db, err := os.ReadFile(dbFile)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(dbFile + "-wal")
	db = append(db, wal...)
	for _, s := range []string{secretInDB, envSecret2, fileSecret, cmdSecret} {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the store's file holds the secret %q", s)
		}
	}
	if !bytes.Contains(db, []byte("shared/.env written: 4 keys")) {
		t.Error("the store's file does not hold the recorded output (the grep above proves nothing)")
	}
}
