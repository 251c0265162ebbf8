package deploy

import (
	"context"
	"strconv"
	"time"

	"github.com/opsui/opsui/inventory"
)

// configMaster finds the app server's master, into $master ("" when it
// cannot be told): the pid the preset's gunicorn writes, or the program's
// or unit's main pid under supervisord or systemd.
const configMaster = `master=
if [ -n "${OPSUI_PROGRAM-}" ]; then
  [ -n "${OPSUI_PM_SUDO-}" ] || master=$(` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF" pid "$OPSUI_PROGRAM" 2>/dev/null)
elif [ -n "${OPSUI_UNIT-}" ]; then
  master=$(systemctl show -p MainPID --value "$OPSUI_UNIT" 2>/dev/null)
elif [ -z "${OPSUI_RELOAD-}" ]; then
  master=$(cat "$SHARED_DIR/gunicorn.pid" 2>/dev/null)
fi
case $master in ''|0|*[!0-9]*) master= ;; esac
`

// configReloadScript wraps a reload recipe for a config release. The
// release id does not change, so the health check cannot tell a worker
// of the old environment from one of the new (a deploy's can: it expects
// the new release): the workers the master had before the reload are
// noted, the recipe runs, and the step waits until every one of them is
// gone, so what answers the health check afterwards runs the new
// environment.
func configReloadScript(run string) string {
	return configMaster + `old=
command -v ps >/dev/null 2>&1 || master=
if [ -n "$master" ]; then old=$(ps -o pid= --ppid "$master" 2>/dev/null | tr -s ' \n' '  '); fi
(
` + withEnv(run) + `
) || exit $?
if [ -z "$master" ]; then
  echo "opsui cannot tell when the app server's old workers are gone (no pid of its master: a role's own reload command, supervisorctl behind sudo, or no ps): the health check may reach one still running the previous environment"
  exit 0
fi
i=0
while :; do
  left=
  for p in $old; do
    [ "$(ps -o ppid= -p "$p" 2>/dev/null | tr -d ' ')" = "$master" ] && left="$left $p"
  done
  if [ -z "$left" ]; then echo "every worker of the previous environment has exited"; exit 0; fi
  i=$((i+1))
  if [ "$i" -ge "$OPSUI_WORKER_WAIT" ]; then echo "workers$left of the previous environment still run $((i / 5))s after the reload" >&2; exit 1; fi
  sleep 0.2
done
`
}

// workerWait bounds the wait for the old workers, in 0.2 s ticks: longer
// than gunicorn's graceful timeout (30 s), in which a worker finishes its
// requests.
const workerWait = 45 * 5

// reloadForConfig runs reload step s on host h as a config release does
// (configReloadScript), failing the host when it fails.
func (r *runner) reloadForConfig(ctx context.Context, s Step, h *hostRun, fail bool) bool {
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = defaultStepTimeout
	}
	env := r.plan.env(h.host, s)
	env["OPSUI_WORKER_WAIT"] = strconv.Itoa(workerWait)
	_, ok := r.runStep(ctx, h, s.Name, configReloadScript(s.Run), env, timeout+time.Minute, nil, fail)
	r.clock.done(h.host.Name)
	return ok
}
