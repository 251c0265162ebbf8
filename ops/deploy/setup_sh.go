package deploy

// setupPrelude starts the script opsui setup runs on a host (after
// sudoPrelude). Every finding is one line in one of the report's three
// words, which the run's record keeps and ParseSetupOutput reads back:
// "done: " (or "would do: " under --dry-run, OPSUI_DRY set), "already
// right: ", "needs a human: " followed by the exact commands ("  $ ") and
// a short diff ("  | "). The script exits 1 when anything needs a human.
//
// setup_file installs a file opsui renders (a supervisord program, a
// systemd unit, an nginx upstream): identical, it is right; different, it
// is left alone and shown as a diff unless OPSUI_FORCE is set; missing or
// forced, it is written where the deploy user may write, else installed
// through sudo -n where a sudoers line allows exactly that install, else
// it is staged under ~/.opsui-setup for a human to install. It sets
// setup_changed when it wrote the file.
const setupPrelude = `set -f
umask 022
setup_humans=0
setup_say() { printf '%s: %s\n' "$1" "$2"; }
setup_done() { if [ -n "${OPSUI_DRY-}" ]; then setup_say 'would do' "$1"; else setup_say done "$1"; fi; }
setup_right() { setup_say 'already right' "$1"; }
setup_human() {
  setup_say 'needs a human' "$1"; setup_humans=$((setup_humans+1)); shift
  for c in "$@"; do printf '  $ %s\n' "$c"; done
}
setup_q() {
  case $1 in
  ''|*[!A-Za-z0-9_./:=@%+,-]*) printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")" ;;
  *) printf '%s' "$1" ;;
  esac
}
setup_me=$(id -un)
setup_writable() { # can the deploy user create or replace the file $1?
  d=$(dirname -- "$1")
  while [ ! -e "$d" ]; do d=$(dirname -- "$d"); done
  [ -d "$d" ] && [ -w "$d" ] && { [ ! -e "$1" ] || [ -w "$1" ]; }
}
setup_diff() { # $1 the file on the host, $2 what opsui renders
  if command -v diff >/dev/null 2>&1; then
    printf '%s' "$2" | diff -u -- "$1" - 2>/dev/null | sed -n '3,22p' | sed 's/^/  | /'
  else
    echo "  | (diff is not installed: compare $1 with opsui setup --print-...)"
  fi
}
setup_same() { [ -f "$1" ] && [ "$(cat -- "$1"; printf x)" = "$2"x ]; }
setup_file() { # label dest content stage_name [commands a human runs after installing it]
  setup_changed= was=
  label=$1 dest=$2 content=$3 stage=$HOME/.opsui-setup/$4
  shift 4
  if setup_same "$dest" "$content"; then setup_right "$label $dest is what opsui renders"; return 0; fi
  verb="installed $label as $dest"
  if [ -e "$dest" ]; then
    if [ -z "${OPSUI_FORCE-}" ]; then
      setup_human "$label $dest differs from what opsui renders: left alone (opsui setup --force replaces it)"
      setup_diff "$dest" "$content"
      return 1
    fi
    verb="replaced $dest ($label) with what opsui renders (--force)"
    was=$(setup_diff "$dest" "$content")
  fi
  if setup_writable "$dest"; then
    if [ -z "${OPSUI_DRY-}" ]; then
      if ! { mkdir -p -- "$(dirname -- "$dest")" && printf '%s' "$content" > "$dest.opsui-tmp" && mv -f -- "$dest.opsui-tmp" "$dest"; }; then
        rm -f -- "$dest.opsui-tmp"; setup_human "could not write $dest ($label)"; return 1
      fi
    fi
    setup_done "$verb"; [ -z "$was" ] || printf '%s\n' "$was"
    setup_changed=1; return 0
  fi
  if [ -z "${OPSUI_DRY-}" ]; then
    mkdir -p -m 0700 -- "$HOME/.opsui-setup" && printf '%s' "$content" > "$stage" || { setup_human "could not stage $label in $stage"; return 1; }
  fi
  if [ -z "${OPSUI_DRY-}" ] && command sudo -n -l -- /usr/bin/install -m 0644 "$stage" "$dest" >/dev/null 2>&1; then
    if out=$(command sudo -n -- /usr/bin/install -m 0644 "$stage" "$dest" 2>&1); then
      setup_done "$verb (sudo install)"; [ -z "$was" ] || printf '%s\n' "$was"
      setup_changed=1; return 0
    fi
    setup_human "sudo install of $dest ($label) failed: $out"
  fi
  setup_human "$setup_me may not write $dest ($label): install it from $stage (written by opsui setup)" \
    "sudo install -m 0644 $(setup_q "$stage") $(setup_q "$dest")" "$@"
  return 1
}
setup_dir() { # dir, what it is
  if [ -d "$1" ] && [ -w "$1" ]; then setup_right "$2 $1 exists and $setup_me may write it"; return 0; fi
  if [ -d "$1" ]; then setup_human "$setup_me may not write $2 $1" "sudo chown $setup_me $(setup_q "$1")"; return 1; fi
  if [ -e "$1" ] || [ -L "$1" ]; then setup_human "$2 $1 is not a directory: move it away" "mv $(setup_q "$1") $(setup_q "$1.old")"; return 1; fi
  if setup_writable "$1"; then
    if [ -z "${OPSUI_DRY-}" ] && ! out=$(mkdir -p -- "$1" 2>&1); then setup_human "could not create $2 $1: $out"; return 1; fi
    setup_done "created $2 $1"; return 0
  fi
  setup_human "$setup_me may not create $2 $1" "sudo install -d -o $setup_me -g $(id -gn) $(setup_q "$1")"
  return 1
}
setup_ctl() { # supervisord's configuration, sudo or not, then supervisorctl's arguments
  c=$1 s=$2; shift 2
  if [ -n "$s" ]; then sudo /usr/bin/supervisorctl -c "$c" "$@"; else /usr/bin/supervisorctl -c "$c" "$@"; fi
}
setup_sv_loaded() { # program, its status name, conf, sudo: supervisord reads the program, or is told to
  sv_p=$1 sv_n=$2 sv_c=$3 sv_s=$4
  sv_cmd="/usr/bin/supervisorctl -c $(setup_q "$sv_c") update"; [ -z "$sv_s" ] || sv_cmd="sudo $sv_cmd"
  if [ -z "$setup_changed" ]; then
    st=$(setup_ctl "$sv_c" "$sv_s" status "$sv_n" 2>&1)
    case $st in
    *"no such"*) ;;
    *"refused"*|*"no such file"*|*"not running"*|*"opsui: sudo"*)
      setup_human "supervisorctl -c $sv_c cannot reach supervisord: $(printf '%s' "$st" | head -n 3 | tr '\n' ' ')" "sudo systemctl start supervisor"
      return 1 ;;
    *) setup_right "supervisord has program $sv_p: $(printf '%s' "$st" | head -n 1 | tr -s ' ')"; return 0 ;;
    esac
  fi
  if [ -n "${OPSUI_DRY-}" ]; then setup_done "$sv_cmd (supervisord reads $sv_p)"; return 0; fi
  out=$(setup_ctl "$sv_c" "$sv_s" update 2>&1); rc=$?
  case $rc:$out in
  0:*ERROR*|0:*"refused"*|0:*"no such file"*|[1-9]*) setup_human "$sv_cmd failed: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')" "$sv_cmd"; return 1 ;;
  esac
  if [ -z "$out" ]; then setup_done "$sv_cmd: supervisord already runs $sv_p with this configuration"
  else setup_done "$sv_cmd: $(printf '%s' "$out" | head -n 2 | tr '\n' ' ' | sed 's/ $//')"; fi
}
setup_sudo_right() { # sudoers line, then the command's words
  line=$1; shift
  if command sudo -n -l -- "$@" >/dev/null 2>&1; then
    setup_right "sudo: $setup_me may run $* without a password"
  else
    setup_human "sudo: $setup_me may not run $* without a password; allow it with this sudoers line: $(printf '%s' "$line" | sed "s/^DEPLOY_USER /$setup_me /")" \
      "sudo visudo -f /etc/sudoers.d/opsui-$OPSUI_APP"
  fi
}
setup_sv_include() { # supervisord's configuration: prints the include directory and extension
  [ -r "$1" ] || return 1
  here=$(dirname -- "$1")
  inc=$(awk '/^[ \t]*\[/{s=($0 ~ /^[ \t]*\[include\][ \t]*$/); next} s && /^[ \t]*files[ \t]*[=:]/{sub(/^[^=:]*[=:][ \t]*/,""); print; exit}' "$1")
  set -- $inc
  [ -n "${1-}" ] || return 1
  p=$1
  case $p in '%(here)s'*) p=$here${p#'%(here)s'} ;; /*) ;; *) p=$here/$p ;; esac
  base=${p##*/}
  case $base in '*.'*) printf '%s %s\n' "${p%/*}" "${base#'*.'}" ;; *) return 1 ;; esac
}
`
