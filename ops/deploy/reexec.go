package deploy

import "encoding/json"

// The graceful re-exec of a gunicorn master opsui started itself
// (process: daemon). A HUP starts new workers but never changes what the
// master was started with: its command line (the gunicorn program, the
// virtualenv, the -c file, the WSGI module) and the addresses it listens
// on. When what opsui would start now differs, the master is re-executed:
// USR2 starts a new master beside the old one, sharing its listening
// sockets; once its workers have loaded the app, TERM lets the old one
// finish its requests and go. Not one connection is refused meanwhile.
//
// gunicorn's own USR2 starts the old command line again (and breaks
// `python -m gunicorn`: the new master runs gunicorn/__main__.py as a
// script, whose `http` package shadows the standard one), so opsui's
// configuration (GunicornServerConf) carries a pre_exec hook
// (reexecHook) that executes the command line opsui wrote to
// shared/gunicorn.next instead. What a master was started with is kept
// beside its pidfile: shared/gunicorn.cmd (the command line, one word a
// line) and shared/gunicorn.master (its pid and bind address).

// reexecNextName and reexecMasterName are the files in shared/ that hold
// the command line a re-exec starts, and the running master's pid and
// bind.
const (
	reexecNextName   = "gunicorn.next"
	reexecMasterName = "gunicorn.master"
)

// reexecHook is the part of GunicornServerConf that makes a USR2 start
// the command line in shared/gunicorn.next: the new master gets this
// master's listening sockets, or, when the first line names another bind
// address, a socket bound to it here, so a bind that fails fails only the
// new master. A new master not yet promoted (GUNICORN_PID set) writes each
// worker's pid to shared/gunicorn.ready.<master pid> once the worker has
// loaded the app: what the re-exec waits for before it stops the old
// master. The app's own pre_exec and post_worker_init hooks still run.
func reexecHook(deployTo string) string {
	lit := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	shared := deployTo + "/shared/"
	return `
# opsui's graceful re-exec (USR2): start the command line opsui writes to
# gunicorn.next, not the one this master was started with.
import socket as _socket
_opsui_next = ` + lit(shared+reexecNextName) + `
_opsui_ready = ` + lit(shared+"gunicorn.ready.") + `
_opsui_pre_exec = globals().get("pre_exec")
_opsui_post_worker_init = globals().get("post_worker_init")


def _opsui_listen(bind):
    if bind.startswith("unix:"):
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        s.bind(bind[5:])
    else:
        host, _, port = bind.rpartition(":")
        host = host.strip("[]") or "0.0.0.0"
        s = _socket.socket(_socket.AF_INET6 if ":" in host else _socket.AF_INET, _socket.SOCK_STREAM)
        s.setsockopt(_socket.SOL_SOCKET, _socket.SO_REUSEADDR, 1)
        s.bind((host, int(port)))
    s.set_inheritable(True)
    return s


def pre_exec(server):
    if _opsui_pre_exec is not None:
        _opsui_pre_exec(server)
    try:
        with open(_opsui_next) as f:
            lines = f.read().split("\n")
    except OSError:
        return
    mode, argv = lines[0], [a for a in lines[1:] if a and a != "--daemon"]
    env = dict(server.cfg.env_orig)
    env["GUNICORN_PID"] = str(_os.getppid())
    try:
        if mode.startswith("bind "):
            try:
                sock = _opsui_listen(mode[5:])  # kept referenced: collected, it would close
            except OSError as e:
                raise OSError("cannot bind %s: %s" % (mode[5:], e))
            fds = [str(sock.fileno())]
            for l in server.LISTENERS:
                _os.set_inheritable(l.fileno(), False)
        else:
            fds = [str(l.fileno()) for l in server.LISTENERS]
        env["GUNICORN_FD"] = ",".join(fds)
        _os.chdir(` + lit(deployTo) + `)
        _os.execvpe(argv[0], argv, env)
    except Exception as e:
        server.log.error("opsui re-exec failed: %s", e)
    _os._exit(1)


def post_worker_init(worker):
    if _opsui_post_worker_init is not None:
        _opsui_post_worker_init(worker)
    if "GUNICORN_PID" in _os.environ:
        try:
            with open(_opsui_ready + str(_os.getppid()), "a") as f:
                f.write("%d\n" % _os.getpid())
        except OSError:
            pass
`
}

// daemonServeScript decides, for a running master $pid, between a HUP and
// a re-exec, and exits; it falls through (to the stop and start of
// djangoReloadScript) only for a master whose command line does not read
// opsui's configuration, which therefore cannot carry the hook. It needs
// $pid, $pidfile, $conf, $want (the command line, one word a line) and
// "$@" (the command line) from djangoReloadScript; OPSUI_SERVER_BIND and
// OPSUI_SERVER_WORKERS from the plan. OPSUI_RESTART set re-executes a
// master whose command line is unchanged (opsui restart).
//
// The master's record (gunicorn.master) says which bind it listens on; a
// master without one (started by an older opsui) is sent a HUP first, so
// it reads the configuration that holds the hook (and its bind).
const daemonServeScript = `nl='
'
master=$SHARED_DIR/` + reexecMasterName + `
next=$SHARED_DIR/` + reexecNextName + `
bind=$OPSUI_SERVER_BIND
had=$(cat "$SHARED_DIR/gunicorn.cmd" 2>/dev/null)
known=; hadbind=; mpid=; mbind=
{ while read -r k v; do case $k in pid) mpid=$v ;; bind) mbind=$v ;; esac; done < "$master"; } 2>/dev/null
if [ -n "$bind" ] && [ "$mpid" = "$pid" ]; then
  known=1; hadbind=$mbind
fi
why=
if [ "$had" != "$want" ]; then
  gone=$(printf '%s\n' "$had" | grep -vxF -- "$want" | tr '\n' ' '); gone=${gone% }
  came=$(printf '%s\n' "$want" | grep -vxF -- "$had" | tr '\n' ' '); came=${came% }
  why="${gone:-(none)} -> ${came:-(none)}"
fi
if [ -n "$known" ] && [ "$hadbind" != "$bind" ]; then why="${why:+$why; }bind $hadbind -> $bind"; fi
if [ -z "$why" ] && [ -z "$OPSUI_RESTART" ]; then
  kill -HUP "$pid" || exit 1
  echo "gunicorn master $pid reloaded (HUP): $OPSUI_SERVER_DESC"
  [ -z "$bind" ] || printf 'pid %s\nbind %s\n' "$pid" "$bind" > "$master"
  exit 0
fi
case "$nl$had$nl" in
*"$nl-c$nl$conf$nl"*)
  what="restart"
  [ -z "$why" ] || what="server command changed ($why)"
  echo "$what: re-exec of gunicorn master $pid"
  if [ -z "$known" ]; then
    # Started by an older opsui: its configuration has no hook yet.
    kill -HUP "$pid" || exit 1
    sleep 1
  fi
  mode=inherit
  [ -z "$known" ] || [ "$hadbind" = "$bind" ] || mode="bind $bind"
  log=$SHARED_DIR/logs/gunicorn.log
  from=$(($(wc -c < "$log" 2>/dev/null || echo 0)+1))
  rm -f -- "$pidfile.2" "$SHARED_DIR"/gunicorn.ready.*
  { printf '%s\n' "$mode"; printf '%s\n' "$@"; } > "$next.tmp.$$" && mv -f -- "$next.tmp.$$" "$next" || exit 1
  kill -USR2 "$pid" || exit 1
  n=${OPSUI_SERVER_WORKERS:-1}; new=; fail=; i=0
  while :; do
    i=$((i+1))
    [ -n "$new" ] || new=$(cat "$pidfile.2" 2>/dev/null)
    if [ -n "$new" ] && ! kill -0 "$new" 2>/dev/null; then fail="the new master $new exited"; break; fi
    if [ -z "$new" ] && tail -c "+$from" "$log" 2>/dev/null | grep -q 'opsui re-exec failed\|Reason:'; then fail="the new master exited"; break; fi
    if [ -n "$new" ] && [ "$(sort -u "$SHARED_DIR/gunicorn.ready.$new" 2>/dev/null | wc -l)" -ge "$n" ]; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then fail="the old master $pid exited meanwhile"; break; fi
    if [ "$i" -gt 120 ]; then
      fail="the new master ${new:-(none)} had not loaded the app in $n workers within 60s"
      [ -z "$new" ] || kill -TERM "$new" 2>/dev/null
      break
    fi
    sleep 0.5
  done
  rm -f -- "$next" "$SHARED_DIR"/gunicorn.ready.*
  if [ -n "$fail" ]; then
    tail -c "+$from" "$log" 2>/dev/null | grep -i 'error\|reason\|exception\|cannot\|can.t' | tail -n 5 >&2
    said=$(tail -c "+$from" "$log" 2>/dev/null | grep -i 'opsui re-exec failed\|reason:\|error:\|can.t connect' | tail -n 1 | sed 's/^\[[^]]*\] \[[^]]*\] \[[^]]*\] //')
    kill -0 "$pid" 2>/dev/null && still="old master $pid still serves" || still="old master $pid is gone too"
    echo "re-exec failed: $fail (${said:-see $log}); $still" >&2
    exit 1
  fi
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i+1)); [ "$i" -le 120 ] || { echo "old gunicorn master $pid did not stop within 60s after TERM; new master $new serves beside it" >&2; exit 1; }
    sleep 0.5
  done
  # The new master renames its pidfile.2 once its parent is gone.
  i=0
  while [ "$(cat "$pidfile" 2>/dev/null)" != "$new" ]; do
    i=$((i+1)); [ "$i" -le 40 ] || { printf '%s\n' "$new" > "$pidfile"; break; }
    sleep 0.5
  done
  printf '%s\n' "$want" > "$SHARED_DIR/gunicorn.cmd"
  printf 'pid %s\nbind %s\n' "$new" "$bind" > "$master"
  echo "$what: re-exec, old master $pid -> new $new ($OPSUI_SERVER_DESC)"
  exit 0 ;;
esac
`
