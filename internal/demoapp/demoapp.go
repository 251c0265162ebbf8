// Package demoapp creates the small, real Django 3.2 project that opsui's
// demo and end-to-end tests deploy: a git repository with a few commits that
// tell a deploy story (a migration, a visible change, a broken health check
// to roll back from).
//
// The project ("shop", settings module shopsite.settings) runs on Debian's
// python3-django and gunicorn with nothing else installed:
//
//	gunicorn --chdir <deploy_to>/current shopsite.wsgi:application
//
// Its layout follows DESIGN.md: the code is extracted into
// <deploy_to>/releases/<id>/ with a REVISION file, and the sqlite database
// and logs live in <deploy_to>/shared/ (see [EnvSharedDir], [EnvDBPath]).
// GET /health/ answers
//
//	ok release=<id> commit=<REVISION> host=<hostname> python=<venv> pid=<pid>
//
// where release is the basename of the release directory the worker loaded
// its code from, read once when the worker starts: a worker that was not
// reloaded keeps reporting its old release. hostname is [EnvHostName] when
// it is set, else the machine's. wsgi.py imports the URLconf and
// the views eagerly, so no worker mixes two releases.
//
// The files come from embedded templates and the commits carry fixed dates
// and a fixed identity, so the commit hashes are the same on every run.
package demoapp

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// The subjects of the repository's commits, oldest first; [Repo.Hashes] is
// keyed by them.
const (
	CommitInitial     = "initial"            // project, app shop, / and /health/, migration 0001_initial
	CommitAddOrder    = "add Order model"    // model Order, migration 0002_order
	CommitGreeting    = "change greeting"    // / shows GreetingV2
	CommitBreakHealth = "break health check" // /health/ raises: 500, and a traceback in shop.log
)

// Things about the app a deploy or a test needs to know.
const (
	Branch         = "main"                                        // the repository's only branch
	WSGIApp        = "shopsite.wsgi:application"                   // gunicorn's APP_MODULE
	SettingsModule = "shopsite.settings"                           // DJANGO_SETTINGS_MODULE
	HealthPath     = "/health/"                                    // health check; 200 "ok release=...", 500 after CommitBreakHealth
	GreetingV1     = "Welcome to the shop!"                        // first line of / before CommitGreeting
	GreetingV2     = "Hello from the new shop, now taking orders!" // from CommitGreeting on
	HealthOK       = "ok"                                          // first word of a healthy /health/ body
	HealthBroken   = "broken"                                      // first word of /health/ after CommitBreakHealth

	// EnvSharedDir overrides the shared directory, by default
	// <release>/../../shared.
	EnvSharedDir = "SHOP_SHARED_DIR"
	// EnvDBPath overrides the sqlite database, by default
	// <shared>/db.sqlite3.
	EnvDBPath = "SHOP_DB_PATH"
	// EnvHostName is the host's name in the health body (host=); the
	// default is the machine's hostname.
	EnvHostName = "SHOP_HOSTNAME"
	// EnvSecretKey sets Django's SECRET_KEY; without it the app uses a
	// fixed key that is fit for the demo only.
	EnvSecretKey = "DJANGO_SECRET_KEY"
	// EnvWorkers sets the number of gunicorn workers when the app's
	// gunicorn.conf.py is used (default: CPUs, at most 4).
	EnvWorkers = "SHOP_WORKERS"

	// BrokenHealthError is the exception /health/ raises from
	// [CommitBreakHealth] on, whose traceback Django logs to shop.log.
	BrokenHealthError = "KeyError: 'backlog'"
)

//go:embed all:files
var files embed.FS

// Commit is one commit of the demo repository.
type Commit struct {
	Subject string
	Hash    string // full hash
	// Migrations lists the app's migrations present at this commit
	// ("shop.0001_initial", ...), in order.
	Migrations []string
}

// Repo is a demo repository created by [Create].
type Repo struct {
	Dir     string            // the repository's work tree
	Branch  string            // Branch
	Commits []Commit          // oldest first
	Hashes  map[string]string // full commit hash by subject (CommitInitial, ...)
}

// Hash returns the full hash of the commit with the given subject, or ""
// when there is none.
func (r *Repo) Hash(subject string) string { return r.Hashes[subject] }

// Head returns the newest commit.
func (r *Repo) Head() Commit { return r.Commits[len(r.Commits)-1] }

// Archive returns `git archive --format=tar <commit>`: the release as a
// deploy cuts it.
func (r *Repo) Archive(ctx context.Context, commit string) ([]byte, error) {
	out, err := gitRunner{dir: r.Dir}.output(ctx, "archive", "--format=tar", commit)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// step is one commit: the template directory laid over the tree before it.
type step struct {
	subject string
	dir     string // under files/
}

var steps = []step{
	{CommitInitial, "1-initial"},
	{CommitAddOrder, "2-add-order-model"},
	{CommitGreeting, "3-change-greeting"},
	{CommitBreakHealth, "4-break-health-check"},
}

// epoch is the date of the first commit; each next one is an hour later.
var epoch = time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)

// Identity of the commits, configured in the repository itself.
const (
	gitName  = "opsui demo"
	gitEmail = "demo@opsui.invalid"
)

// Create writes the demo project into dir (created if missing; it must be
// empty if it exists), makes it a git repository on branch [Branch] with the
// commits [CommitInitial], [CommitAddOrder], [CommitGreeting] and
// [CommitBreakHealth], and returns their hashes. It needs git on PATH.
// Neither the user's nor the system's git configuration is read or changed.
func Create(ctx context.Context, dir string) (*Repo, error) {
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{Dir: abs, Branch: Branch, Hashes: make(map[string]string)}
	g := gitRunner{dir: abs}
	if _, err := g.run(ctx, time.Time{}, "init", "-q"); err != nil {
		return nil, err
	}
	for _, args := range [][]string{
		{"symbolic-ref", "HEAD", "refs/heads/" + Branch},
		{"config", "user.name", gitName},
		{"config", "user.email", gitEmail},
		{"config", "commit.gpgsign", "false"},
		{"config", "core.autocrlf", "false"},
	} {
		if _, err := g.run(ctx, time.Time{}, args...); err != nil {
			return nil, err
		}
	}
	var migrations []string
	for i, s := range steps {
		added, err := writeStep(abs, s.dir)
		if err != nil {
			return nil, fmt.Errorf("demoapp: writing %q: %w", s.subject, err)
		}
		for _, f := range added {
			if m, ok := migrationName(f); ok {
				migrations = append(migrations, m)
			}
		}
		slices.Sort(migrations)
		when := epoch.Add(time.Duration(i) * time.Hour)
		if _, err := g.run(ctx, when, "add", "-A", "."); err != nil {
			return nil, err
		}
		if _, err := g.run(ctx, when, "commit", "-q", "--no-verify", "-m", s.subject); err != nil {
			return nil, err
		}
		hash, err := g.run(ctx, when, "rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		r.Commits = append(r.Commits, Commit{Subject: s.subject, Hash: hash, Migrations: slices.Clone(migrations)})
		r.Hashes[s.subject] = hash
	}
	return r, nil
}

// prepareDir creates dir or checks that it is empty.
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return fmt.Errorf("demoapp: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("demoapp: %s is not empty", dir)
	}
	return nil
}

// writeStep copies the template directory files/<name> over root and
// returns the slash-separated paths it wrote.
func writeStep(root, name string) ([]string, error) {
	base := path.Join("files", name)
	var written []string
	err := fs.WalkDir(files, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(strings.TrimPrefix(p, base), "/")
		if rel == "" {
			return nil
		}
		dst := filepath.Join(root, filepath.FromSlash(rel))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if rel == "manage.py" {
			mode = 0o755
		}
		if err := os.WriteFile(dst, b, mode); err != nil {
			return err
		}
		// WriteFile keeps the mode of an existing file; set it anyway.
		written = append(written, rel)
		return os.Chmod(dst, mode)
	})
	return written, err
}

// migrationName turns "shop/migrations/0002_order.py" into
// "shop.0002_order".
func migrationName(rel string) (string, bool) {
	app, rest, ok := strings.Cut(rel, "/migrations/")
	if !ok || strings.Contains(app, "/") || strings.Contains(rest, "/") {
		return "", false
	}
	name, ok := strings.CutSuffix(rest, ".py")
	if !ok || name == "__init__" {
		return "", false
	}
	return app + "." + name, true
}

// gitRunner runs git in a repository, isolated from the user's and the
// system's configuration.
type gitRunner struct{ dir string }

// run runs git with args and returns its trimmed standard output. A
// non-zero when sets the author and committer dates.
func (g gitRunner) run(ctx context.Context, when time.Time, args ...string) (string, error) {
	out, err := g.command(ctx, when, args...)
	return strings.TrimSpace(string(out)), err
}

// output runs git with args and returns its standard output as is.
func (g gitRunner) output(ctx context.Context, args ...string) ([]byte, error) {
	return g.command(ctx, time.Time{}, args...)
}

func (g gitRunner) command(ctx context.Context, when time.Time, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = g.dir
	env := []string{
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
		"TZ=UTC",
	}
	if !when.IsZero() {
		d := when.Format(time.RFC3339)
		env = append(env, "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	}
	cmd.Env = append(filteredEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("demoapp: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// filteredEnv returns the process environment without git's variables, so
// that a GIT_DIR or an identity set by a caller (a git hook, a test) does
// not leak into the demo repository.
func filteredEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "EMAIL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}
