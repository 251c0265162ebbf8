package deploy

// The Django preset's recipes. Each release gets its own virtualenv, built
// from what the release carries: nothing is fetched at deploy time.

// djangoBuildScript makes the release's virtualenv (with the system's site
// packages, so Debian's Django serves when the release ships no wheels)
// and installs requirements.txt from the release's wheels/ directory.
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
echo "virtualenv ready: $(venv/bin/python -c 'import sys; print(sys.version.split()[0])')"
`

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
//   - the release's gunicorn.conf.py named explicitly, when it has one;
//     when the app declares an environment, opsui's gunicornEnvConf,
//     which runs it and loads shared/.env again on every HUP.
//
// The WSGI module is OPSUI_WSGI or the package holding wsgi.py.
//
// Under supervisord (process: supervisord) the program opsui rendered
// (SupervisorProgram) is the master: it gets HUP through supervisorctl,
// or is started when it is not running (the first deploy). Under systemd
// (process: systemd) the unit (SystemdUnit) is reloaded or started alike.
const djangoReloadScript = `if [ -n "$OPSUI_RELOAD" ]; then cd -- "$DEPLOY_TO/current" && eval "$OPSUI_RELOAD"; exit $?; fi
if [ -n "$OPSUI_PROGRAM" ]; then
` + supervisorReloadScript + `
fi
if [ -n "$OPSUI_UNIT" ]; then
` + systemdReloadScript + `
fi
pidfile=$SHARED_DIR/gunicorn.pid
pid=$(cat "$pidfile" 2>/dev/null)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  if [ -n "${OPSUI_ENV_FILE-}" ] && [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q opsui_gunicorn.conf.py; then
    echo "warning: gunicorn master $pid was started before the app declared its env: a HUP does not give it shared/.env; restart it once (stop it, then deploy)" >&2
  fi
  kill -HUP "$pid" && echo "gunicorn master $pid reloaded (HUP)"
  exit
fi
cd -- "$DEPLOY_TO" || exit 1
wsgi=$OPSUI_WSGI
if [ -z "$wsgi" ]; then
  for f in current/*/wsgi.py; do [ -f "$f" ] && wsgi=${f#current/} && wsgi=${wsgi%/wsgi.py}.wsgi && break; done
fi
if [ -z "$wsgi" ]; then echo "no wsgi.py in the release: set the web role's wsgi option" >&2; exit 1; fi
mkdir -p -- "$SHARED_DIR/logs"
set -- --chdir "$DEPLOY_TO/current" --pid "$pidfile" --daemon --bind "${OPSUI_BIND:-127.0.0.1:8000}" \
  --workers "${OPSUI_WORKERS:-2}" --error-logfile "$SHARED_DIR/logs/gunicorn.log"
if [ -n "${OPSUI_ENV_FILE-}" ]; then set -- -c "$SHARED_DIR/opsui_gunicorn.conf.py" "$@"
elif [ -f current/gunicorn.conf.py ]; then set -- -c "$DEPLOY_TO/current/gunicorn.conf.py" "$@"; fi
if [ -n "$OPSUI_GUNICORN" ]; then "$OPSUI_GUNICORN" "$@" "$wsgi"; else "$DEPLOY_TO/current/venv/bin/python" -m gunicorn "$@" "$wsgi"; fi
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -s "$pidfile" ] && break; sleep 0.5; done
if [ ! -s "$pidfile" ]; then echo "gunicorn did not start: see $SHARED_DIR/logs/gunicorn.log" >&2; tail -n 20 "$SHARED_DIR/logs/gunicorn.log" >&2; exit 1; fi
echo "gunicorn started (master $(cat "$pidfile")) on ${OPSUI_BIND:-127.0.0.1:8000}"
`
