package deploy

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// The Django preset's recipes. Each release gets its own virtualenv, built
// from what the release carries: nothing is fetched at deploy time.

// djangoBuildScript makes the release's virtualenv (with the system's site
// packages, so Debian's Django serves when the release ships no wheels),
// installs requirements.txt from the release's wheels/ directory, and
// checks that what the virtualenv imports meets requirements.txt
// (requirementsCheckScript).
const djangoBuildScript = `set -e
cd -- "$RELEASE_DIR"
py=${OPSUI_PYTHON:-/usr/bin/python3}
if [ -f requirements.txt ] && [ -d wheels ]; then
  "$py" -m venv --system-site-packages venv
  venv/bin/python -m pip install --no-index --find-links wheels -r requirements.txt
else
  "$py" -m venv --system-site-packages --without-pip venv
  [ ! -f requirements.txt ] || echo "no wheels/ in the release: requirements.txt not installed (nothing is fetched at deploy time); the system's packages serve"
fi
` + requirementsCheckScript

// djangoCollectstaticScript collects static files into the release.
const djangoCollectstaticScript = `set -e
cd -- "$RELEASE_DIR"
venv/bin/python manage.py collectstatic --noinput
`

// djangoReloadScript reloads the app server gracefully, or starts it.
//
// A role's own reload command wins. Otherwise gunicorn: a running master
// (its pid in shared/gunicorn.pid, read before the signal: gunicorn
// rewrites the file while it reloads) gets HUP, which starts new workers
// with the new code and retires the old ones without dropping a request.
// The way the master is started is what makes that true:
//   - --chdir on the current symlink's path, so each HUP re-enters the
//     release current points at (a master started in a resolved release
//     directory serves that release forever);
//   - from DEPLOY_TO, a directory no cleanup removes: gunicorn checks its
//     start directory on every HUP and dies if it is gone;
//   - the release's virtualenv python through current, so workers forked
//     after a HUP import from the new release's virtualenv;
//   - one configuration file, shared/opsui_server.conf.py
//     (GunicornServerConf, written at every reload): the app's own
//     gunicorn.conf.py (or opsui's env conf), then the web role's bind
//     and workers. gunicorn reads it again on every HUP, so a changed
//     worker count or bind takes effect with a HUP; on the command line
//     they never would.
//
// The master's command line is kept in shared/gunicorn.cmd, its pid and
// bind in shared/gunicorn.master. When the one opsui would start now
// differs (another wsgi module, python or gunicorn, bind; a master an
// older opsui started), a HUP cannot apply it: the master is re-executed
// gracefully (daemonServeScript, reexec.go), and the output says so.
//
// The master starts with a clean environment (env -i: HOME, PATH, LANG,
// USER): the deploy's stage variables (RELEASE_ID, COMMIT, ENV...) would
// stay in it, and in every worker after each HUP, forever stale. The
// app's own environment comes from shared/.env through the conf.
//
// The WSGI module is OPSUI_WSGI or the package holding wsgi.py.
//
// Under supervisord (process: supervisord) the program opsui rendered
// (SupervisorProgram) is the master: it gets HUP through supervisorctl,
// or is started when it is not running (the first deploy). Under systemd
// (process: systemd) the unit (SystemdUnit) is reloaded or started alike.
const djangoReloadScript = `if [ -n "$OPSUI_RELOAD" ]; then cd -- "$DEPLOY_TO/current" && eval "$OPSUI_RELOAD"; exit $?; fi
[ -d "$SHARED_DIR/logs" ] || mkdir -p -- "$SHARED_DIR/logs"
conf=$SHARED_DIR/` + serverConfName + `
if ! printf '%s' "$OPSUI_SERVER_CONF" > "$conf.tmp.$$" || ! mv -f -- "$conf.tmp.$$" "$conf"; then
  rm -f -- "$conf.tmp.$$"; echo "writing $conf failed" >&2; exit 1
fi
if [ -n "$OPSUI_PROGRAM" ]; then
` + supervisorReloadScript + `
fi
if [ -n "$OPSUI_UNIT" ]; then
` + systemdReloadScript + `
fi
pidfile=$SHARED_DIR/gunicorn.pid
cd -- "$DEPLOY_TO" || exit 1
wsgi=$OPSUI_WSGI
if [ -z "$wsgi" ]; then
  for f in current/*/wsgi.py; do [ -f "$f" ] && wsgi=${f#current/} && wsgi=${wsgi%/wsgi.py}.wsgi && break; done
fi
if [ -z "$wsgi" ]; then echo "no wsgi.py in the release: set the web role's wsgi option" >&2; exit 1; fi
if [ -n "$OPSUI_GUNICORN" ]; then set -- "$OPSUI_GUNICORN"; else set -- "$DEPLOY_TO/current/venv/bin/python" -m gunicorn; fi
set -- "$@" -c "$conf" --chdir "$DEPLOY_TO/current" --pid "$pidfile" --daemon --error-logfile "$SHARED_DIR/logs/gunicorn.log" "$wsgi"
want=$(printf '%s\n' "$@")
pid=; { read -r pid < "$pidfile"; } 2>/dev/null
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
` + daemonServeScript + `  echo "gunicorn master $pid runs another command line than opsui starts now (a HUP cannot change it): restarting it"
  kill -TERM "$pid"
` + waitMasterGone + `  echo "gunicorn master $pid stopped"
fi
rm -f -- "$pidfile"
env -i HOME="$HOME" PATH="$PATH" LANG="${LANG:-C.UTF-8}" USER="$(id -un)" LOGNAME="$(id -un)" "$@"
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -s "$pidfile" ] && break; sleep 0.5; done
if [ ! -s "$pidfile" ]; then echo "gunicorn did not start: see $SHARED_DIR/logs/gunicorn.log" >&2; tail -n 20 "$SHARED_DIR/logs/gunicorn.log" >&2; exit 1; fi
printf '%s\n' "$want" > "$SHARED_DIR/gunicorn.cmd"
printf 'pid %s\nbind %s\n' "$(cat "$pidfile")" "$OPSUI_SERVER_BIND" > "$SHARED_DIR/` + reexecMasterName + `"
echo "gunicorn started (master $(cat "$pidfile")): $OPSUI_SERVER_DESC"
`

// serverConfName is the preset's gunicorn configuration in shared/.
const serverConfName = "opsui_server.conf.py"

// GunicornServerConf is shared/opsui_server.conf.py, the configuration
// the preset starts gunicorn with on a host: the app's own settings first
// (opsui's env conf when the app declares an environment, else the
// release's gunicorn.conf.py through current), then the web role's bind
// and workers, which win. The paths and bind are JSON strings, which
// Python reads as its own; workers is checked at import.
func GunicornServerConf(deployTo, bind string, workers int, env bool) string {
	deployTo = strings.TrimRight(deployTo, "/")
	lit := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	own := deployTo + "/current/gunicorn.conf.py"
	if env {
		own = deployTo + "/shared/opsui_gunicorn.conf.py"
	}
	return `# Rendered by opsui at every deploy from the web role's options; gunicorn
# reads it again on every HUP, so a changed bind or worker count applies
# without a restart.
import os as _os
_own = ` + lit(own) + `
` + pyRunOwn("_opsui_file") + `bind = [` + lit(bind) + `]
workers = ` + strconv.Itoa(workers) + `
` + reexecHook(deployTo)
}

// pyRunOwn is the Python that runs the conf file _own, when it exists, in
// this conf's globals with its own path in __file__ (kept meanwhile in
// saved, a name of each conf's own, since confs nest), as when gunicorn
// loads it with -c: the file finds its neighbours (the release,
// shared/logs) through __file__.
func pyRunOwn(saved string) string {
	return `if _os.path.exists(_own):
    ` + saved + `, __file__ = globals().get("__file__"), _own
    with open(_own) as _f:
        exec(compile(_f.read(), _own, "exec"))
    __file__ = ` + saved + `
`
}

// serverOptions returns the web role's bind and worker count on a host,
// with the preset's defaults.
func serverOptions(set inventory.RoleSettings) (bind string, workers int) {
	bind, workers = "127.0.0.1:8000", 2
	if b := set.Options["bind"]; b != "" {
		bind = b
	}
	if n, err := strconv.Atoi(set.Options["workers"]); err == nil && n > 0 {
		workers = n
	}
	return bind, workers
}

// waitMasterGone waits for the gunicorn master $pid to exit, at most 30
// seconds: a TERM lets its workers finish the requests they serve.
const waitMasterGone = `i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1)); [ "$i" -le 60 ] || { echo "gunicorn master $pid did not stop within 30s" >&2; exit 1; }
  sleep 0.5
done
`

// djangoStopScript stops the app server djangoReloadScript started (or
// its supervisord program): a host whose first release failed has no
// release to go back to, and must not serve the broken one. A role with
// its own reload command has an app server opsui does not know how to
// stop: that is an error the operator sees.
const djangoStopScript = `if [ -n "$OPSUI_RELOAD" ]; then echo "the role's reload command is its own: opsui cannot stop its app server; stop it by hand" >&2; exit 1; fi
if [ -n "$OPSUI_PROGRAM" ]; then
  set -- ` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF"
  [ -z "$OPSUI_PM_SUDO" ] || set -- sudo "$@"
  out=$("$@" stop "$OPSUI_PROGRAM" 2>&1); rc=$?
  case $out in *"not running"*|*stopped*) rc=0 ;; esac
  echo "supervisord: $OPSUI_PROGRAM: $out"; exit $rc
fi
pidfile=$SHARED_DIR/gunicorn.pid
pid=$(cat "$pidfile" 2>/dev/null)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then echo "no app server runs"; exit 0; fi
kill -TERM "$pid"
` + waitMasterGone + `rm -f -- "$pidfile"
echo "gunicorn master $pid stopped"
`
