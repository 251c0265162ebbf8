package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/opsui/opsui/ops/remote"
)

// migcheckPreviewScript unpacks the release's artifact (standard input)
// into a scratch directory inside deploy_to, which it always removes, and
// checks the migrations there: the new code's migrations, read with the
// Django of the release serving now (the new release's virtualenv does
// not exist before the deploy builds it). Nothing else is touched: no
// shared entry is linked, nothing migrates.
const migcheckPreviewScript = `set -e
scratch=$DEPLOY_TO/.opsui-migcheck/$RELEASE_ID.$$
trap 'rm -rf -- "$scratch"' EXIT
mkdir -p -- "$scratch"
tar -xzf - -C "$scratch"
RELEASE_DIR=$scratch
if [ -x "$DEPLOY_TO/current/venv/bin/python" ]; then OPSUI_MIGCHECK_PYTHON=$DEPLOY_TO/current/venv/bin/python; fi
set +e
`

// PreviewMigrations checks, without changing anything, the migrations a
// deploy of p would run on its migration host: what the preview and
// --dry-run show before anyone confirms. The deploy checks again in the
// built release before it migrates, and that verdict is the one that
// gates it. ok is false when the app is not checked (not the Django
// preset, or no migrate command).
func (d *Deployer) PreviewMigrations(ctx context.Context, p *Plan) (c MigrationCheck, ok bool, err error) {
	if !checksMigrations(p.App) {
		return c, false, nil
	}
	h, found := MigrationHost(p.Hosts)
	if !found {
		return c, false, fmt.Errorf("no host to check migrations on")
	}
	t, found := d.Targets[h.Name]
	if !found {
		return c, false, fmt.Errorf("no SSH target for host %s", h.Name)
	}
	dir, err := os.MkdirTemp("", "opsui-migcheck-")
	if err != nil {
		return c, false, fmt.Errorf("check migrations: %w", err)
	}
	defer os.RemoveAll(dir)
	artifact := filepath.Join(dir, "release.tar.gz")
	if err := Archive(ctx, p.App.Repo, p.Source.Commit, artifact); err != nil {
		return c, false, fmt.Errorf("check migrations: %w", err)
	}
	f, err := os.Open(artifact)
	if err != nil {
		return c, false, fmt.Errorf("check migrations: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return c, false, fmt.Errorf("check migrations: %w", err)
	}
	env := p.env(h, Step{Name: StepMigrate})
	env["OPSUI_MIGCHECK"] = migcheckPy
	var out, errs strings.Builder
	opts := remote.RunOptions{Env: env, Timeout: migcheckTimeout, Stdin: func(remote.Target) (remote.Input, error) {
		return remote.Input{R: f, Size: fi.Size()}, nil
	}}
	res, err := remote.Run(ctx, d.Conn, []remote.Target{t}, sudoPrelude+withEnv(migcheckPreviewScript+migcheckScript), opts, func(ev remote.Event) {
		switch {
		case ev.Kind == remote.EventStdout && out.Len() < 1<<20:
			out.WriteString(ev.Line + "\n")
		case ev.Kind == remote.EventStderr && errs.Len() < 4<<10:
			errs.WriteString(ev.Line + "\n")
		}
	})
	c = MigrationCheck{Host: h.Name, Release: "preview"}
	switch {
	case err != nil:
		c.Err = err.Error()
	case res.Hosts[0].Status != remote.StatusOK:
		c.Err = strings.TrimSpace(fmt.Sprintf("%v: %s", res.Hosts[0].Err, errs.String()))
	default:
		if c.Ops, c.Pending, err = ParseMigrationCheck(out.String()); err != nil {
			c.Err = err.Error()
		}
	}
	return c, true, nil
}
