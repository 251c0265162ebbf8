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
// (its pid in shared/gunicorn.pid) gets HUP, which starts new workers with
// the new code and retires the old ones without dropping a request. HUP
// picks up new code only because the master runs with --chdir on the
// current symlink's path: a master started in a resolved release directory
// would serve that release forever. With no master running, one is started
// that way, daemonized, bound to OPSUI_BIND. The WSGI module is OPSUI_WSGI
// or the package holding wsgi.py.
const djangoReloadScript = `if [ -n "$OPSUI_RELOAD" ]; then cd -- "$DEPLOY_TO/current" && eval "$OPSUI_RELOAD"; exit $?; fi
pidfile=$SHARED_DIR/gunicorn.pid
if [ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  kill -HUP "$(cat "$pidfile")"
  echo "gunicorn master $(cat "$pidfile") reloaded (HUP)"
  exit 0
fi
cd -- "$DEPLOY_TO/current"
wsgi=$OPSUI_WSGI
if [ -z "$wsgi" ]; then
  for f in */wsgi.py; do [ -f "$f" ] && wsgi=${f%/wsgi.py}.wsgi && break; done
fi
if [ -z "$wsgi" ]; then echo "no wsgi.py in the release: set the web role's wsgi option" >&2; exit 1; fi
mkdir -p -- "$SHARED_DIR/logs"
gunicorn=${OPSUI_GUNICORN:-gunicorn}
"$gunicorn" --chdir "$DEPLOY_TO/current" --pid "$pidfile" --daemon \
  --bind "${OPSUI_BIND:-127.0.0.1:8000}" --workers "${OPSUI_WORKERS:-2}" \
  --error-logfile "$SHARED_DIR/logs/gunicorn.log" "$wsgi"
for i in 1 2 3 4 5 6 7 8 9 10; do [ -s "$pidfile" ] && break; sleep 0.5; done
if [ ! -s "$pidfile" ]; then echo "gunicorn did not start: see $SHARED_DIR/logs/gunicorn.log" >&2; tail -n 20 "$SHARED_DIR/logs/gunicorn.log" >&2; exit 1; fi
echo "gunicorn started (master $(cat "$pidfile")) on ${OPSUI_BIND:-127.0.0.1:8000}"
`
