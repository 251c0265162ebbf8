package deploy

import "github.com/opsui/opsui/inventory"

// workerScript puts a host's workers on release OPSUI_TARGET
// (OPSUI_WORKER_MODE=ensure), starts them again there even when they run
// it (restart: a config release's new shared/.env, read at start), or
// stops them (stop: a first deploy taken out of service).
//
// The release a running worker loaded is its working directory as the
// kernel resolved it when the worker started (/proc/PID/cwd): every way
// opsui starts one enters the current symlink's path, so this is the
// release current pointed at then, whatever current points at now.
// Workers all on the target release are left running (a resumed deploy,
// a rollback of a host whose workers never left it); otherwise they are
// stopped gracefully (TERM through their manager, then up to
// OPSUI_WORKER_TIMEOUT seconds to finish the task at hand), killed with
// SIGKILL if still running then (said, with their pids), and started in
// the release current points at. The last line is the machine-readable
// summary parseWorkerSummary reads.
//
// The manager is supervisord (the program's group through supervisorctl),
// systemd (the unit through systemctl) or none (daemon: opsui starts the
// processes itself, each in its own session, with pidfiles under
// shared/pids; a pidfile whose process is not in a release is stale).
// supervisorctl and systemctl run through sudo -n when OPSUI_PM_SUDO is
// set: the commands are inventory.Worker.SudoCommands, the sudoers lines.
const workerScript = `set -u
tgt=$OPSUI_TARGET mode=$OPSUI_WORKER_MODE tmo=$OPSUI_WORKER_TIMEOUT name=$OPSUI_WORKER_NAME
rd=$(cd -- "$DEPLOY_TO/releases" 2>/dev/null && pwd -P) || rd=$DEPLOY_TO/releases
piddir=$DEPLOY_TO/shared/pids
log=$DEPLOY_TO/shared/logs/$name.log
ctl() {
  case $OPSUI_WORKER_PM in
  supervisord) set -- ` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF" "$@" ;;
  systemd) set -- ` + inventory.Systemctl + ` "$@" ;;
  esac
  if [ -n "${OPSUI_PM_SUDO-}" ]; then sudo "$@"; else "$@"; fi
}
release_of() {
  d=$(readlink "/proc/$1/cwd" 2>/dev/null) || { echo unknown; return; }
  d=${d% (deleted)}
  case $d in "$rd"/*) d=${d#"$rd"/}; echo "${d%%/*}" ;; *) echo unknown ;; esac
}
releases() {
  r=$(for p in $1; do release_of "$p"; done | sort -u | tr '\n' ' ')
  r=${r% }; echo "${r:-none}"
}
expected=$OPSUI_WORKER_PROCESSES
worker_pids() {
  case $OPSUI_WORKER_PM in
  supervisord)
    st=$(ctl status "$OPSUI_WORKER_GROUP" 2>&1)
    case $st in
    *"no such"*|*ERROR*|*"refused connection"*|*"no such file"*|*"may not run"*)
      echo "supervisord: $(oneline "$st")" >&2
      case $st in *"no such"*) echo "supervisord has no program $name: install it first (opsui setup --print-supervisor prints it), then supervisorctl update" >&2 ;; esac
      return 1 ;;
    esac
    # The program's lines only: sudo may warn first (an unresolvable host name).
    expected=$(printf '%s\n' "$st" | awk -v n="$name" '$1 == n || index($1, n ":") == 1' | wc -l)
    printf '%s\n' "$st" | sed -n 's/.*[[:space:]]RUNNING[[:space:]]*pid \([0-9]*\),.*/\1/p' ;;
  systemd)
    p=$(` + inventory.Systemctl + ` show -p MainPID --value "$OPSUI_UNIT" 2>/dev/null) || { echo "systemd: cannot read the unit $OPSUI_UNIT" >&2; return 1; }
    [ "${p:-0}" = 0 ] || echo "$p" ;;
  *)
    for f in "$piddir/$name".*.pid; do
      [ -f "$f" ] || continue
      p=$(cat "$f" 2>/dev/null)
      case $(readlink "/proc/$p/cwd" 2>/dev/null) in "$rd"/*) echo "$p" ;; *) rm -f -- "$f" ;; esac
    done ;;
  esac
}
# may ARGS: the deploy user may run the manager with ARGS (through sudo
# -n where it must); else the prelude's sudo says the sudoers line that
# allows it, before anything was stopped.
may() {
  [ -n "${OPSUI_PM_SUDO-}" ] || return 0
  case $OPSUI_WORKER_PM in
  supervisord) set -- ` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF" "$@" ;;
  systemd) set -- ` + inventory.Systemctl + ` "$@" ;;
  *) return 0 ;;
  esac
  command sudo -n -l -- "$@" >/dev/null 2>&1 || sudo "$@"
}
oneline() { printf '%s' "$1" | tr '\n' ';' | sed 's/;/; /g'; }
procs() { if [ "$1" = 1 ]; then echo "1 process"; else echo "$1 processes"; fi; }
# lastlog: the last line the worker wrote to its newest log, to say why it died.
lastlog() {
  f=$(ls -t -- "$DEPLOY_TO/shared/logs/$name"*.log 2>/dev/null | head -n 1)
  [ -z "$f" ] || [ ! -r "$f" ] || echo "; $f ends: $(tail -n 1 -- "$f")"
}
alive() { a=; for p in $1; do [ ! -d "/proc/$p" ] || a="$a $p"; done; echo $a; }

tmp=$(mktemp) || exit 1
trap 'rm -f -- "$tmp"' EXIT
# Not in a subshell: worker_pids sets expected, the processes the manager knows.
worker_pids >"$tmp" || exit 1
old=$(cat "$tmp")
old=$(echo $old)
n=$(echo $old | wc -w)
from=$(releases "$old")
if [ "$mode" = ensure ] && [ "$n" -gt 0 ] && [ "$n" -eq "$expected" ] && [ "$from" = "$tgt" ]; then
  echo "workers: $(procs "$n") of $name already run release $tgt: left running"
  echo "opsui-workers from=$from to=$tgt processes=$n kept=1 killed= secs=0"
  exit 0
fi

case $OPSUI_WORKER_PM in
supervisord) may stop "$OPSUI_WORKER_GROUP" && { [ "$mode" = stop ] || may start "$OPSUI_WORKER_GROUP"; } || exit 1 ;;
systemd) may stop "$OPSUI_UNIT" && { [ "$mode" = stop ] || may start "$OPSUI_UNIT"; } || exit 1 ;;
esac
t0=$(date +%s) bg= killed= left=
if [ "$n" -gt 0 ]; then
  echo "workers: stopping $(procs "$n") of $name (release $from): TERM, then up to ${tmo}s to finish their tasks"
fi
case $OPSUI_WORKER_PM in
supervisord) ctl stop "$OPSUI_WORKER_GROUP" >"$tmp" 2>&1 & bg=$! ;;
systemd) ctl stop "$OPSUI_UNIT" >"$tmp" 2>&1 & bg=$! ;;
*) for p in $old; do kill -TERM "$p" 2>/dev/null; done ;; # the main process only: a TERM'd Celery pool child drops its task
esac
while [ -n "$(alive "$old")" ]; do
  if [ $(( $(date +%s) - t0 )) -ge "$tmo" ]; then
    for p in $(alive "$old"); do
      if kill -KILL -"$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null; then killed="$killed $p"; else left="$left $p"; fi
    done
    killed=$(echo $killed) left=$(echo $left)
    [ -z "$killed" ] || echo "workers: $name process(es) $killed still running ${tmo}s after TERM (stop_timeout): killed with SIGKILL, their tasks cut short" >&2
    [ -z "$left" ] || echo "workers: $name process(es) $left still running ${tmo}s after TERM (stop_timeout), and $(id -un) may not kill them: $OPSUI_WORKER_PM kills them" >&2
    i=0; while [ -n "$(alive "$old")" ] && [ "$i" -lt 150 ]; do sleep 0.2; i=$((i+1)); done
    break
  fi
  sleep 0.2
done
if [ -n "$bg" ]; then
  wait "$bg"; rc=$?
  out=$(cat "$tmp") bad=
  case $OPSUI_WORKER_PM in
  supervisord) case $out in *"not running"*) ;; *ERROR*) bad=1 ;; esac ;;
  *) [ "$rc" -eq 0 ] || bad=1 ;;
  esac
  if [ -n "$bad" ]; then echo "stopping $name failed: $(oneline "$out")" >&2; exit 1; fi
fi
if [ -n "$(alive "$old")" ]; then echo "$name process(es) $(alive "$old") still running after the stop: not starting another set beside them" >&2; exit 1; fi
secs=$(( $(date +%s) - t0 ))
[ "$n" -eq 0 ] || echo "workers: $(procs "$n") of $name stopped in ${secs}s"

if [ "$mode" = stop ]; then
  rm -f -- "$piddir/$name".*.pid
  echo "opsui-workers from=$from to=none processes=0 kept= killed=$killed secs=$secs"
  exit 0
fi
case $OPSUI_WORKER_PM in
supervisord)
  out=$(ctl start "$OPSUI_WORKER_GROUP" 2>&1)
  case $out in *ERROR*) echo "supervisord could not start $name: $(oneline "$out")$(lastlog)" >&2; exit 1 ;; esac ;;
systemd)
  out=$(ctl start "$OPSUI_UNIT" 2>&1) || { echo "systemd could not start $OPSUI_UNIT: $(oneline "$out") (see: journalctl -u $OPSUI_UNIT)" >&2; exit 1; } ;;
*)
  mkdir -p -- "$piddir" "${log%/*}" && cd -- "$DEPLOY_TO/current" || exit 1
  rm -f -- "$piddir/$name".*.pid
  i=1
  while [ "$i" -le "$OPSUI_WORKER_PROCESSES" ]; do
    env -i HOME="$HOME" PATH="$PATH" LANG="${LANG:-C.UTF-8}" USER="$(id -un)" LOGNAME="$(id -un)" \
      setsid /bin/sh -c "$OPSUI_WORKER_LAUNCH" </dev/null >>"$log" 2>&1 &
    echo $! >"$piddir/$name.$i.pid"
    i=$((i+1))
  done
  sleep 2 ;; # as supervisord's startsecs: a worker that dies at once fails here, not later
esac
worker_pids >"$tmp" || exit 1
new=$(cat "$tmp")
new=$(echo $new)
to=$(releases "$new")
m=$(echo $new | wc -w)
if [ "$OPSUI_WORKER_PM" = supervisord ] && [ "$m" -gt 0 ] && [ "$m" -ge "$expected" ] && [ "$m" -lt "$OPSUI_WORKER_PROCESSES" ]; then
  # Every process the installed program has runs: the program is older than the fleet.
  echo "workers: supervisord's program $name runs $(procs "$m"), the fleet says $OPSUI_WORKER_PROCESSES: install the program opsui setup --print-supervisor prints, then supervisorctl update"
elif [ "$m" -lt "$OPSUI_WORKER_PROCESSES" ] || [ "$m" -eq 0 ]; then
  echo "$m of $(procs "$OPSUI_WORKER_PROCESSES") of $name run after the start$(lastlog)" >&2
  exit 1
fi
if [ "$to" != "$tgt" ]; then echo "$name started, but in release $to, not $tgt (current points at $(readlink "$DEPLOY_TO/current"))" >&2; exit 1; fi
echo "workers: $(procs "$m") of $name started in release $to"
echo "opsui-workers from=$from to=$to processes=$m kept= killed=$killed secs=$secs want=$OPSUI_WORKER_PROCESSES"
`
