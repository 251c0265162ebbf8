package deploy

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// restartScript restarts the web role's app server on a drained host.
// Under supervisord the program is stopped and started (the two
// supervisorctl commands the sudoers lines already allow), under systemd
// the unit is restarted; a master opsui runs itself is re-executed
// gracefully (djangoReloadScript with OPSUI_RESTART set: the same
// re-exec a changed command line gets). The configuration the master
// reads (shared/opsui_server.conf.py) is written again first, from the
// fleet as it is now, as a deploy's reload writes it.
const restartScript = `if [ -n "$OPSUI_RELOAD" ]; then echo "the web role's reload command is its own: opsui cannot restart its app server" >&2; exit 1; fi
if [ -n "$OPSUI_PROGRAM" ] || [ -n "$OPSUI_UNIT" ]; then
  conf=$SHARED_DIR/` + serverConfName + `
  mkdir -p -- "$SHARED_DIR/logs"
  if ! printf '%s' "$OPSUI_SERVER_CONF" > "$conf.tmp.$$" || ! mv -f -- "$conf.tmp.$$" "$conf"; then
    rm -f -- "$conf.tmp.$$"; echo "writing $conf failed" >&2; exit 1
  fi
fi
if [ -n "$OPSUI_PROGRAM" ]; then
  set -- ` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF"
  [ -z "$OPSUI_PM_SUDO" ] || set -- sudo "$@"
  before=$("$@" status "$OPSUI_PROGRAM" 2>&1)
  out=$("$@" stop "$OPSUI_PROGRAM" 2>&1)
  case $out in *ERROR*) case $out in *"not running"*) ;; *) echo "supervisord could not stop $OPSUI_PROGRAM: $out" >&2; exit 1 ;; esac ;; esac
  out=$("$@" start "$OPSUI_PROGRAM" 2>&1)
  case $out in *ERROR*) echo "supervisord could not start $OPSUI_PROGRAM: $out (its output is in $SHARED_DIR/logs/$OPSUI_PROGRAM.log)" >&2; exit 1 ;; esac
  after=$("$@" status "$OPSUI_PROGRAM" 2>&1)
  was=$(printf '%s' "$before" | sed -n 's/.*pid \([0-9]*\).*/\1/p')
  now=$(printf '%s' "$after" | sed -n 's/.*pid \([0-9]*\).*/\1/p')
  case $after in *RUNNING*) ;; *) echo "supervisord: $OPSUI_PROGRAM is not running after its start: $after" >&2; exit 1 ;; esac
  echo "restart: supervisord restarted $OPSUI_PROGRAM, old master ${was:-(none)} -> new $now"
  exit 0
fi
if [ -n "$OPSUI_UNIT" ]; then
  set -- ` + inventory.Systemctl + `
  [ -z "$OPSUI_PM_SUDO" ] || set -- sudo "$@"
  was=$(` + inventory.Systemctl + ` show -p MainPID --value "$OPSUI_UNIT" 2>/dev/null)
  if ! out=$("$@" restart "$OPSUI_UNIT" 2>&1); then echo "systemd could not restart $OPSUI_UNIT: $out (see: journalctl -u $OPSUI_UNIT)" >&2; exit 1; fi
  now=$(` + inventory.Systemctl + ` show -p MainPID --value "$OPSUI_UNIT" 2>/dev/null)
  echo "restart: systemd restarted $OPSUI_UNIT, old master ${was:-(none)} -> new $now"
  exit 0
fi
pid=$(cat "$SHARED_DIR/gunicorn.pid" 2>/dev/null)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "restart: no gunicorn master runs: starting one"; fi
OPSUI_RESTART=1
` + djangoReloadScript

// restartActivate restarts the plan's hosts batch by batch: each batch
// drained, restarted, checked, put back. More failed hosts than the
// strategy tolerates stop the rollout before the next batch.
func (r *runner) restartActivate(ctx context.Context, rp *RestartPlan) store.ReleaseResult {
	p, lbs := r.plan, r.lbs
	// The balancers end as they were, less what an earlier run left drained.
	defer lbs.restore(ctx)
	_ = lbs.restore(ctx)
	for bi, batch := range p.Batches {
		if ctx.Err() != nil {
			r.notef("the restart was cancelled: batches from %d/%d on not started", bi+1, len(p.Batches))
			return store.ReleaseAborted
		}
		var todo []*hostRun
		for _, h := range batch {
			if hr := r.byName[h.Name]; hr.todo() {
				todo = append(todo, hr)
			}
		}
		r.say("batch %d/%d: restarting %s", bi+1, len(p.Batches), hostNames(inventoryHosts(todo)))
		if err := lbs.drain(ctx, todo); err != nil {
			for _, h := range todo {
				r.fail(h, "drain", remote.ClassExit, err)
			}
			return store.ReleaseFailed
		}
		r.forEach(todo, func(h *hostRun) { r.restartHost(ctx, rp, h) })
		_ = lbs.restore(ctx)
		if ctx.Err() != nil {
			r.notef("the restart was cancelled during batch %d/%d", bi+1, len(p.Batches))
			return store.ReleaseAborted
		}
		if failed := r.failedNames(); len(failed) > p.MaxFail {
			if bi+1 < len(p.Batches) {
				r.notef("%s failed: the restart stopped, batches after %d/%d not started", strings.Join(failed, ", "), bi+1, len(p.Batches))
			}
			return store.ReleaseFailed
		}
	}
	if r.failedCount() > 0 {
		return store.ReleaseFailed
	}
	return store.ReleaseSuccess
}

// failedNames names the hosts that failed, in the plan's order.
func (r *runner) failedNames() []string {
	var out []string
	for _, h := range r.hosts {
		h.mu.Lock()
		if h.failed {
			out = append(out, h.host.Name)
		}
		h.mu.Unlock()
	}
	return out
}

// restartHost restarts h's app server, checks it, and restarts its
// workers when asked. A host whose app server does not answer its health
// check afterwards stays out of the balancers; one whose restart failed
// but still answers (a re-exec leaves the old master serving) goes back.
func (r *runner) restartHost(ctx context.Context, rp *RestartPlan, h *hostRun) {
	if rp.Reload.AppliesTo(h.host) {
		r.events.stage(h, StepRestart)
		env := r.plan.env(h.host, rp.Reload)
		_, ok := r.runStep(ctx, h, StepRestart, withEnv(restartScript), env, 3*time.Minute, nil, true)
		r.clock.done(h.host.Name)
		r.events.stage(h, StepHealth)
		if !r.healthCheck(ctx, h, r.plan.ReleaseID, r.plan.Source.Commit) {
			if r.lbs != nil {
				r.lbs.keepOut(h.host.Name)
			}
			r.notef("%s: unhealthy after its restart: left out of the balancers", h.host.Name)
			return
		}
		if !ok {
			return
		}
	}
	if _, worker := r.plan.Fleet.WorkerFor(r.plan.App.Name, h.host); rp.Workers && worker {
		if !r.workersOn(ctx, h, r.plan.ReleaseID, "restart", StepWorkers, true) {
			return
		}
	}
	h.mu.Lock()
	h.switched = true // restarted: finish counts it ok, on the release it runs
	h.mu.Unlock()
}

// restartLog appends the restart to revisions.log on every host it
// restarted.
func (r *runner) restartLog(ctx context.Context, rel *store.Release) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), undoTimeout)
	defer cancel()
	when := time.Now().UTC().Format(time.RFC3339)
	r.forEach(r.hosts, func(h *hostRun) {
		h.mu.Lock()
		done := h.switched
		h.mu.Unlock()
		if !done {
			return
		}
		line := fmt.Sprintf("%s %s restarted the app server; release %s (%s) unchanged", when, r.Operator, rel.ReleaseID, ShortCommit(rel.Commit))
		r.hostWrite(ctx, h, "revisions.log", logScript, map[string]string{"DEPLOY_TO": h.deployTo, "OPSUI_LINE": line})
	})
}
