package webtest

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// The Django project of [CreateDjangoProject] is written as a real
// project is, not for opsui: its settings read DJANGO_SECRET_KEY (required),
// DJANGO_DEBUG and DATABASE_URL (sqlite:////abs/path) from the
// environment, ALLOWED_HOSTS names only [DjangoSiteHost] (a request for
// an address answers 400), it has the admin, auth, contenttypes, sessions
// and its own app (notes), and no gunicorn.conf.py, no wrapper script. GET
// /health/ answers
//
//	ok release=<id> commit=<REVISION> notes=<n> debug=<True|False> stage_release_id=<$RELEASE_ID or -> pid=<pid>
//
// release and commit read once when the worker loads the code;
// stage_release_id is the worker's own RELEASE_ID, which an app server
// must not inherit from a deploy.
const (
	DjangoSiteHost     = "www.notes.test"     // the only name in ALLOWED_HOSTS
	DjangoWSGI         = "mysite.wsgi"        // the project's WSGI module
	DjangoHealthPath   = "/health/"           // see above; 500 "broken" after DjangoBreakHealth
	DjangoInitial      = "initial"            // the project, notes.0001_initial
	DjangoAddTag       = "add tag to notes"   // notes.0002_note_tag; /health/ reads the new column
	DjangoBreakHealth  = "break health check" // /health/ answers 500
	djangoTemplateRoot = "djangoproj"
)

//go:embed all:djangoproj
var djangoFiles embed.FS

var djangoSteps = []struct{ subject, dir string }{
	{DjangoInitial, "1-initial"},
	{DjangoAddTag, "2-add-tag"},
	{DjangoBreakHealth, "3-break-health"},
}

// DjangoProject is a git repository made by [CreateDjangoProject].
type DjangoProject struct {
	Dir    string
	Hashes map[string]string // full commit hash by subject
}

// CreateDjangoProject writes the project into dir (which must not exist
// or be empty) as a git repository on branch main with the commits
// [DjangoInitial], [DjangoAddTag] and [DjangoBreakHealth], with fixed
// dates and identity. It needs git on PATH; the user's git configuration
// is not read.
func CreateDjangoProject(ctx context.Context, dir string) (*DjangoProject, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	p := &DjangoProject{Dir: dir, Hashes: map[string]string{}}
	if _, err := p.git(ctx, time.Time{}, "init", "-q", "-b", "main"); err != nil {
		return nil, err
	}
	when := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
	for i, s := range djangoSteps {
		if err := copyTemplate(path.Join(djangoTemplateRoot, s.dir), dir); err != nil {
			return nil, fmt.Errorf("webtest: writing %q: %w", s.subject, err)
		}
		at := when.Add(time.Duration(i) * time.Hour)
		if _, err := p.git(ctx, at, "add", "-A", "."); err != nil {
			return nil, err
		}
		if _, err := p.git(ctx, at, "commit", "-q", "--no-verify", "-m", s.subject); err != nil {
			return nil, err
		}
		h, err := p.git(ctx, at, "rev-parse", "HEAD")
		if err != nil {
			return nil, err
		}
		p.Hashes[s.subject] = h
	}
	return p, nil
}

// copyTemplate copies the embedded directory base over dir.
func copyTemplate(base, dir string) error {
	return fs.WalkDir(djangoFiles, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, base), "/")))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := djangoFiles.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// git runs git in the project, isolated from the user's and the system's
// configuration; a non-zero when dates the commit.
func (p *DjangoProject) git(ctx context.Context, when time.Time, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = p.Dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=Notes Dev", "GIT_AUTHOR_EMAIL=dev@notes.invalid", "GIT_COMMITTER_NAME=Notes Dev", "GIT_COMMITTER_EMAIL=dev@notes.invalid")
	if !when.IsZero() {
		d := when.Format(time.RFC3339)
		cmd.Env = append(cmd.Env, "GIT_AUTHOR_DATE="+d, "GIT_COMMITTER_DATE="+d)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("webtest: git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
