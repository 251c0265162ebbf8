package deploy

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// StepEnv names the writing of shared/.env, part of the upload stage:
// under the deploy lock, before anything runs in the new release.
const StepEnv = "env"

// renderEnvs renders the app's environment of every host of the plan,
// before the deploy takes its lock: a secret that cannot be read stops
// the deploy before anything changed. Nil when the app declares none.
func (d *Deployer) renderEnvs(ctx context.Context, p *Plan) (map[string]EnvFile, error) {
	if !p.App.HasEnv() {
		return nil, nil
	}
	key, err := d.Store.EnvHashKey(ctx)
	if err != nil {
		return nil, err
	}
	sec := d.Secrets
	if sec == nil {
		sec = &Secrets{}
	}
	out := make(map[string]EnvFile, len(p.Hosts))
	for _, h := range p.Hosts {
		f, err := RenderEnv(ctx, p.App, h, sec, key)
		if err != nil {
			return nil, err
		}
		out[h.Name] = f
	}
	return out, nil
}

// writeEnv sends f to host h on the SSH session's standard input (never
// in a command line, where ps shows it) and records its hashes.
func (r *runner) writeEnv(ctx context.Context, h *hostRun, f EnvFile) bool {
	env := r.plan.env(h.host, Step{Name: StepEnv})
	env["OPSUI_ENV_KEYS"] = strconv.Itoa(len(f.Hashes))
	env["OPSUI_GUNICORN_CONF"] = GunicornEnvConf(h.deployTo)
	in := remote.Input{R: bytes.NewReader(f.Content), Size: int64(len(f.Content))}
	if _, ok := r.runStep(ctx, h, StepEnv, renderEnvScript, env, time.Minute, &in, true); !ok {
		return false
	}
	if err := r.Store.SaveEnvHashes(ctx, r.plan.App.Name, r.plan.Env.Name, h.host.Name, f.Hashes); err != nil {
		r.notef("%s: %v (env diff will not know what was rendered)", h.host.Name, fmt.Errorf("shared/.env written, but: %w", err))
	}
	return true
}
