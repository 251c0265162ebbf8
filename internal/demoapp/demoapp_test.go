package demoapp

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/ops/logs"
)

func create(t *testing.T) *Repo {
	t.Helper()
	testenv.RequireProgram(t, "git", "git")
	r, err := Create(context.Background(), filepath.Join(t.TempDir(), "shop"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := gitRunner{dir: dir}.run(context.Background(), time.Time{}, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCreateCommits(t *testing.T) {
	t.Parallel()
	r := create(t)
	subjects := []string{CommitInitial, CommitAddOrder, CommitGreeting, CommitBreakHealth}
	if len(r.Commits) != len(subjects) {
		t.Fatalf("%d commits, want %d", len(r.Commits), len(subjects))
	}
	for i, c := range r.Commits {
		if c.Subject != subjects[i] || len(c.Hash) != 40 || r.Hash(c.Subject) != c.Hash {
			t.Errorf("commit %d = %+v", i, c)
		}
	}
	if got := git(t, r.Dir, "log", "--format=%s", "--reverse", Branch); got != strings.Join(subjects, "\n") {
		t.Errorf("git log:\n%s", got)
	}
	if got := git(t, r.Dir, "rev-parse", "HEAD"); got != r.Head().Hash {
		t.Errorf("HEAD = %s, want %s", got, r.Head().Hash)
	}
	if got := git(t, r.Dir, "status", "--porcelain"); got != "" {
		t.Errorf("work tree not clean:\n%s", got)
	}
	if got := git(t, r.Dir, "config", "--local", "user.email"); got != gitEmail {
		t.Errorf("local user.email = %q", got)
	}
	if got := git(t, r.Dir, "ls-files", "-s", "manage.py"); !strings.HasPrefix(got, "100755 ") {
		t.Errorf("manage.py is not executable in git: %s", got)
	}

	want := [][]string{
		{"shop.0001_initial"},
		{"shop.0001_initial", "shop.0002_order"},
		{"shop.0001_initial", "shop.0002_order"},
		{"shop.0001_initial", "shop.0002_order"},
	}
	for i, c := range r.Commits {
		if !slices.Equal(c.Migrations, want[i]) {
			t.Errorf("%s: migrations %v, want %v", c.Subject, c.Migrations, want[i])
		}
	}
	if got := git(t, r.Dir, "diff", "--name-only", r.Hash(CommitInitial), r.Hash(CommitAddOrder)); got != "shop/migrations/0002_order.py\nshop/models.py" {
		t.Errorf("files changed by %q:\n%s", CommitAddOrder, got)
	}
	for s, want := range map[string]string{CommitGreeting: "shop/views.py", CommitBreakHealth: "shop/views.py\nshopsite/urls.py"} {
		if got := git(t, r.Dir, "diff", "--name-only", r.Hash(s)+"^", r.Hash(s)); got != want {
			t.Errorf("files changed by %q: %s", s, got)
		}
	}
}

func TestCreateIsDeterministic(t *testing.T) {
	t.Parallel()
	a, b := create(t), create(t)
	if !slices.EqualFunc(a.Commits, b.Commits, func(x, y Commit) bool { return x.Hash == y.Hash }) {
		t.Errorf("two repositories have different hashes:\n%v\n%v", a.Commits, b.Commits)
	}
}

func TestCreateRefusesNonEmptyDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(context.Background(), dir); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Create in a non-empty dir: %v", err)
	}
}

// checkScript runs Django's checks, migrations, collectstatic and both views
// of a release with Django's test client, and prints the results as JSON.
const checkScript = `
import io, json, os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "shopsite.settings"
import django
django.setup()
from django.core.management import call_command
from django.test import Client
out = {}
call_command("check", stdout=io.StringIO())
try:
    call_command("makemigrations", "--check", "--dry-run", stdout=io.StringIO())
    out["models_match_migrations"] = True
except SystemExit:
    out["models_match_migrations"] = False
call_command("migrate", "--noinput", stdout=io.StringIO())
from django.db.migrations.recorder import MigrationRecorder
out["applied"] = sorted(a + "." + n for a, n in MigrationRecorder.Migration.objects.values_list("app", "name") if a == "shop")
call_command("collectstatic", "--noinput", stdout=io.StringIO())
c = Client(raise_request_exception=False)
for name, path in (("index", "/"), ("health", "/health/")):
    r = c.get(path)
    out[name] = {"status": r.status_code, "body": r.content.decode()}
json.dump(out, sys.stdout)
`

// extract writes a tar archive into dir.
func extract(t *testing.T, archive []byte, dir string) {
	t.Helper()
	tr := tar.NewReader(bytes.NewReader(archive))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.FromSlash(h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, os.FileMode(h.Mode)&0o777); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestReleasesRunOnDebianDjango deploys every commit into a Capistrano
// layout of its own and runs it with Debian's Django: checks, migrations
// from scratch, collectstatic, both views.
func TestReleasesRunOnDebianDjango(t *testing.T) {
	t.Parallel()
	webtest.RequireDjango(t)
	r := create(t)
	for i, c := range r.Commits {
		t.Run(strings.ReplaceAll(c.Subject, " ", "_"), func(t *testing.T) {
			t.Parallel()
			checkRelease(t, r, i)
		})
	}
}

func checkRelease(t *testing.T, r *Repo, i int) {
	c := r.Commits[i]
	deployTo := t.TempDir()
	shared := filepath.Join(deployTo, "shared")
	if err := os.MkdirAll(filepath.Join(shared, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("2026010509%02d00", i)
	release := filepath.Join(deployTo, "releases", id)
	archive, err := r.Archive(context.Background(), c.Hash)
	if err != nil {
		t.Fatal(err)
	}
	extract(t, archive, release)
	if err := os.WriteFile(filepath.Join(release, "REVISION"), []byte(c.Hash+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(webtest.PythonPath, "-c", checkScript)
	cmd.Dir = release
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + deployTo}
	// Every other release is told its host's name, as the demo fleet
	// does; the others report the machine's.
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	if i%2 == 0 {
		host = "demo-web" + id
		cmd.Env = append(cmd.Env, EnvHostName+"="+host)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var res struct {
		ModelsMatchMigrations bool     `json:"models_match_migrations"`
		Applied               []string `json:"applied"`
		Index, Health         struct {
			Status int
			Body   string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !res.ModelsMatchMigrations {
		t.Errorf("models have changes without a migration")
	}
	if !slices.Equal(res.Applied, c.Migrations) {
		t.Errorf("applied %v, want %v", res.Applied, c.Migrations)
	}
	greeting := GreetingV1
	if i >= 2 {
		greeting = GreetingV2
	}
	identity := "release=" + id + " commit=" + c.Hash + " host=" + host + " "
	if res.Index.Status != 200 || !strings.HasPrefix(res.Index.Body, greeting+"\n") || !strings.Contains(res.Index.Body, identity) {
		t.Errorf("/ = %d %q", res.Index.Status, res.Index.Body)
	}
	wantStatus, wantWord := 200, HealthOK
	if c.Subject == CommitBreakHealth {
		wantStatus, wantWord = 500, HealthBroken
	}
	if res.Health.Status != wantStatus || !strings.HasPrefix(res.Health.Body, wantWord+" "+identity) {
		t.Errorf("%s = %d %q", HealthPath, res.Health.Status, res.Health.Body)
	}
	if _, err := os.Stat(filepath.Join(release, "static", "shop", "shop.css")); err != nil {
		t.Errorf("collectstatic: %v", err)
	}
	if _, err := os.Stat(filepath.Join(shared, "db.sqlite3")); err != nil {
		t.Errorf("shared database: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(shared, "logs", "shop.log"))
	if err != nil || !strings.Contains(string(b), "GET /health/") {
		t.Errorf("shared/logs/shop.log = %q, %v", b, err)
	}
	// The broken commit's /health/ raises: Django logs the real traceback.
	traceback := strings.Contains(string(b), "ERROR django.request: Internal Server Error: /health/\nTraceback (most recent call last):") &&
		strings.Contains(string(b), "in _order_backlog") && strings.Contains(string(b), BrokenHealthError)
	if traceback != (c.Subject == CommitBreakHealth) {
		t.Errorf("traceback of %s in shop.log: %v, want %v:\n%s", BrokenHealthError, traceback, c.Subject == CommitBreakHealth, b)
	}
	if c.Subject == CommitBreakHealth {
		checkTopErrors(t, string(b))
	}
}

// checkTopErrors feeds a broken release's shop.log to the logs view's
// error aggregator: its top errors must hold the traceback collapsed to
// the frame that raised and the exception, and Django's error line.
func checkTopErrors(t *testing.T, log string) {
	t.Helper()
	agg := logs.NewAggregator()
	for _, line := range strings.Split(strings.TrimRight(log, "\n"), "\n") {
		agg.Add(logs.Line{Host: "web1", File: "shop.log", Time: time.Now(), Text: line, Kind: logs.KindLine, Level: logs.DetectLevel(line)})
	}
	agg.Flush()
	var tb, errLine bool
	for _, g := range agg.Top(10) {
		switch {
		case g.Traceback:
			tb = tb || (g.Summary == BrokenHealthError && strings.Contains(g.Frame, "in _order_backlog"))
		default:
			errLine = errLine || strings.Contains(g.Summary, "Internal Server Error: /health/")
		}
	}
	if !tb || !errLine {
		t.Errorf("top errors of the broken release (traceback %v, error line %v): %+v", tb, errLine, agg.Top(10))
	}
}
