package deploy

// The remote side of a deploy. Every script reads its values from the
// environment variables the deploy exports (RELEASE_DIR, RELEASE_ID, COMMIT,
// BRANCH, DEPLOY_TO, SHARED_DIR, ROLE, HOST, ENV and the OPSUI_* ones), which
// remote.Run quotes into the command line: no value is ever pasted into a
// script's text. The scripts are POSIX sh and use only coreutils.

// uploadScript unpacks the artifact (standard input) into a new release
// directory and writes REVISION. An existing directory of the same name is
// refused unless it is an unfinished copy (no REVISION) from an earlier
// attempt at this same release; a failed extraction (a full disk) removes
// what it wrote, so no half release is left behind.
const uploadScript = `set -e
[ -d "$DEPLOY_TO/releases" ] && [ -d "$SHARED_DIR" ] || mkdir -p -- "$DEPLOY_TO/releases" "$SHARED_DIR"
if [ -e "$RELEASE_DIR/REVISION" ]; then
  if [ -n "$OPSUI_RESUME" ] && [ "$(cat "$RELEASE_DIR/REVISION")" = "$COMMIT" ]; then
    echo "release $RELEASE_ID is unpacked already"; exit 0
  fi
  echo "release $RELEASE_ID already exists on this host" >&2; exit 1
fi
[ ! -e "$RELEASE_DIR" ] && [ ! -L "$RELEASE_DIR" ] || rm -rf -- "$RELEASE_DIR"
mkdir -- "$RELEASE_DIR"
if ! tar -xzf - -C "$RELEASE_DIR"; then
  rm -rf -- "$RELEASE_DIR"; echo "extracting release $RELEASE_ID failed" >&2; exit 1
fi
if ! printf '%s\n' "$COMMIT" > "$RELEASE_DIR/REVISION.tmp" || ! mv -f -- "$RELEASE_DIR/REVISION.tmp" "$RELEASE_DIR/REVISION"; then
  rm -rf -- "$RELEASE_DIR"; echo "writing REVISION of release $RELEASE_ID failed" >&2; exit 1
fi
set -- $(du -sk -- "$RELEASE_DIR")
echo "release $RELEASE_ID unpacked: $1 KiB"
`

// linkSharedScript links each entry of OPSUI_SHARED (OPSUI_SHARED_N
// entries, one per line) from shared/ into the release. A missing shared
// file is an error; a missing directory (named with a trailing slash, or a
// directory in the release) is created from the release's copy.
//
// Linking deletes what the release has at the entry's path, so every entry
// is checked before any is linked, whatever the fleet file was checked
// with (a store written by an older opsui): no absolute path, no empty,
// "." or ".." component, no control character, no newline (the count
// tells), and no symbolic link on the way inside the release. One bad
// entry refuses the step and changes nothing.
const linkSharedScript = `set -e
cd -- "$RELEASE_DIR"
[ "${OPSUI_SHARED_N:-0}" -gt 0 ] || { echo "no shared entries"; exit 0; }
bad=; lines=0
while IFS= read -r entry; do
  lines=$((lines+1))
  why=
  case $entry in
  '') why="is empty" ;;
  /*) why="is an absolute path" ;;
  *[[:cntrl:]]*) why="holds a control character" ;;
  esac
  e=${entry%/}
  if [ -z "$why" ]; then
    case /$e/ in
    *//*|*/./*|*/../*) why="has an empty, '.' or '..' component: it must stay inside the release" ;;
    /REVISION/|/BAD/) why="is a file opsui writes in each release" ;;
    esac
  fi
  p=; rest=$e
  while [ -z "$why" ] && case $rest in */*) true ;; *) false ;; esac; do
    p=${p:+$p/}${rest%%/*}; rest=${rest#*/}
    if [ -L "$p" ]; then why="goes through $p, a symbolic link in the release"; fi
  done
  if [ -n "$why" ]; then printf 'refused: shared entry %s %s\n' "$entry" "$why" >&2; bad=1; fi
done <<ENTRIES
$OPSUI_SHARED
ENTRIES
if [ "$lines" -ne "$OPSUI_SHARED_N" ]; then
  echo "refused: a shared entry holds a newline; nothing was linked (fix the app's shared: entries and import the fleet file again)" >&2; exit 1
fi
if [ -n "$bad" ]; then echo "nothing was linked (fix the app's shared: entries and import the fleet file again)" >&2; exit 1; fi
while IFS= read -r entry; do
  case $entry in */) isdir=1; entry=${entry%/} ;; *) isdir= ;; esac
  if [ ! -e "$SHARED_DIR/$entry" ]; then
    if [ -n "$isdir" ] || [ -d "$entry" ]; then
      mkdir -p -- "$SHARED_DIR/$entry"
      if [ -d "$entry" ]; then cp -a -- "$entry/." "$SHARED_DIR/$entry/"; fi
      echo "created shared directory $entry"
    else
      echo "shared file $entry is missing: create $SHARED_DIR/$entry on $HOST" >&2
      exit 1
    fi
  fi
  case $entry in */*) [ -d "${entry%/*}" ] || mkdir -p -- "${entry%/*}" ;; esac
  [ ! -e "$entry" ] && [ ! -L "$entry" ] || rm -rf -- "$entry"
  ln -s -- "$SHARED_DIR/$entry" "$entry"
  echo "linked $entry"
done <<ENTRIES
$OPSUI_SHARED
ENTRIES
`

// switchScript points current at the release: a new symlink renamed over
// the old one, so current is always a valid link, never missing.
const switchScript = `set -e
cd -- "$DEPLOY_TO"
if [ ! -f "releases/$OPSUI_TARGET/REVISION" ]; then
  echo "release $OPSUI_TARGET is not complete on this host (no REVISION)" >&2; exit 1
fi
prev=$(readlink current 2>/dev/null || true)
ln -sfn -- "$DEPLOY_TO/releases/$OPSUI_TARGET" ".current.tmp.$$"
mv -fT -- ".current.tmp.$$" current
echo "current: ${prev:-(none)} -> $DEPLOY_TO/releases/$OPSUI_TARGET"
`

// reloadScript runs the role's reload command, when it has one.
const reloadScript = `if [ -z "$OPSUI_RELOAD" ]; then echo "no reload command for $ROLE"; exit 0; fi
cd -- "$DEPLOY_TO/current" && eval "$OPSUI_RELOAD"
`

// healthScript asks the host's health URL, from the host, until the body
// holds OPSUI_EXPECT (which names the release or commit, so a host that
// answers but did not reload fails), OPSUI_RETRIES times at most and no
// longer than OPSUI_DEADLINE seconds, one try a second after a first one
// that asks five times in its second. OPSUI_HEALTH_HEADERS holds the
// request's headers, one "Name: value" a line (the Host header names the
// site: Django answers 400 to a host not in ALLOWED_HOSTS). A failing
// HTML answer is summarised (its title and first line of text), not shown
// as markup.
const healthScript = `url=$OPSUI_HEALTH_URL; n=0
end=$(( $(date +%s) + OPSUI_DEADLINE ))
fetch() {
  set --
  while IFS= read -r hd; do [ -z "$hd" ] || set -- "$@" "$hd"; done <<HEADERS
$OPSUI_HEALTH_HEADERS
HEADERS
  if command -v curl >/dev/null 2>&1; then
    for hd; do set -- "$@" -H "$hd"; shift; done
    curl -sS --max-time 5 "$@" -o - -w '\nHTTP %{http_code}' -- "$url" 2>&1
  elif command -v wget >/dev/null 2>&1; then
    for hd; do set -- "$@" --header="$hd"; shift; done
    wget -q -T 5 "$@" -O - -- "$url" 2>&1 && printf '\nHTTP 200'
  else python3 -c 'import sys,urllib.request as u
try:
  q=u.Request(sys.argv[1],headers=dict(h.split(": ",1) for h in sys.argv[2:]))
  r=u.urlopen(q,timeout=5); sys.stdout.write(r.read().decode("utf-8","replace")+"\nHTTP %d" % r.status)
except u.HTTPError as e: sys.stdout.write(e.read().decode("utf-8","replace")+"\nHTTP %d" % e.code)
except Exception as e: sys.stdout.write(str(e)+"\nHTTP 000")' "$url" "$@"; fi
}
summary() {
  case $1 in
  *\<[Hh][Tt][Mm][Ll]*|*\<!DOCTYPE*|*\<!doctype*)
    flat=$(printf '%s' "$1" | tr '\r\n\t' '   ')
    title=$(printf '%s\n' "$flat" | sed -n 's:.*<[Tt][Ii][Tt][Ll][Ee][^>]*>\([^<]*\)</[Tt][Ii][Tt][Ll][Ee]>.*:\1:p' | sed 's/  */ /g; s/^ //; s/ $//')
    text=$(printf '%s\n' "$flat" | sed -e 's:<[Hh][Ee][Aa][Dd][ >].*</[Hh][Ee][Aa][Dd]>::' -e 's:<[Ss][Tt][Yy][Ll][Ee][^>]*>[^<]*</[Ss][Tt][Yy][Ll][Ee]>::g' \
      -e 's:<[Ss][Cc][Rr][Ii][Pp][Tt][^>]*>[^<]*</[Ss][Cc][Rr][Ii][Pp][Tt]>::g' -e 's/<[^>]*>/\n/g' |
      sed 's/  */ /g; s/^ //; s/ $//' | grep -v -x -F -e '' -e "$title" | head -n 1)
    printf 'an HTML page titled "%s": %s' "$(printf '%s' "$title" | head -c 120)" "$(printf '%s' "$text" | head -c 200)" ;;
  *) printf '%s' "$1" | head -c 300 ;;
  esac
}
quick="0.1 0.2 0.3 0.4"
while :; do
  n=$((n+1)); tries=tries; [ "$n" -ne 1 ] || tries=try
  body=$(fetch)
  code=${body##*HTTP }
  case $code in
  2??) case $body in *"$OPSUI_EXPECT"*) echo "healthy after $n $tries: $(printf '%s' "${body%HTTP *}" | head -c 300)"; exit 0 ;; esac ;;
  esac
  # The first try asks again after 0.1, 0.2, 0.3 and 0.4 s before it
  # counts: a host ready in 300 ms is seen then, not a second later.
  if [ -n "$quick" ]; then
    set -- $quick; wait=$1; shift; quick=$*; n=$((n-1))
    sleep "$wait" 2>/dev/null || sleep 1
    continue
  fi
  if [ "$n" -ge "$OPSUI_RETRIES" ] || [ "$(date +%s)" -ge "$end" ]; then
    [ -z "$OPSUI_EXPECT" ] || case $code in 2??) echo "expected the body to contain: $OPSUI_EXPECT" >&2 ;; esac
    case $code in 400) case $OPSUI_HEALTH_HEADERS in [Hh]ost:*) ;; *)
      echo "hint: Django answers 400 to a Host header not in ALLOWED_HOSTS: set the app's health.host to the site's name" >&2 ;; esac ;;
    esac
    # Last, as the line that says why the step failed.
    echo "$url answered HTTP $code after $n $tries: $(summary "${body%HTTP *}")" >&2
    exit 1
  fi
  sleep 1
done
`

// currentRelease sets rels to the releases directory's canonical path and
// cur to the release current points at, both resolved the way the kernel
// does (cd -P and pwd -P: GNU, BSD and macOS alike, where readlink -f is
// not): a link made by hand may end in "/", and deploy_to may end in "/" or
// go through a symlinked parent. curp is current's canonical path. A
// current that does not resolve (its release is gone) falls back to the
// last component of its target.
const currentRelease = `rels=$(cd -P -- "$DEPLOY_TO/releases" 2>/dev/null && pwd -P) || rels=
curp=$(cd -P -- "$DEPLOY_TO/current" 2>/dev/null && pwd -P) || curp=
cur=
if [ -n "$rels" ] && [ -n "$curp" ]; then
  case $curp in "$rels"/?*) cur=${curp#"$rels"/}; cur=${cur%%/*} ;; esac
fi
if [ -z "$cur" ]; then
  cur=$(readlink -- "$DEPLOY_TO/current" 2>/dev/null) || cur=
  while :; do case $cur in */) cur=${cur%/} ;; *) break ;; esac; done
  cur=${cur##*/}
fi
`

// cleanupScript keeps the newest OPSUI_KEEP releases and never removes the
// current one, the protected ones (the last known-good and this deploy's)
// nor any a running process still has as its working directory (an app
// server master started there dies on its next reload without it).
// Paths are compared canonical. A user that is not root cannot see other
// users' processes' working directories (gunicorn as www-data) unless
// sudo lets it run readlink as root (sudo -n readlink), and a host without
// /proc shows none: then no release is removed, and the output says why.
// /proc is read only when some release would go (0.8 s at 50 hosts).
const cleanupScript = `cd -- "$DEPLOY_TO/releases" || exit 0
` + currentRelease + `nl='
'
# The releases: names of 14 digits, oldest first (a glob is sorted, and
# digits sort alike in every locale).
d='[0-9]'; d14=$d$d$d$d$d$d$d$d$d$d$d$d$d$d
set --
for r in $d14; do { [ -e "$r" ] || [ -L "$r" ]; } && set -- "$@" "$r"; done
n=$#
unseen=0
if [ "$n" -le "$OPSUI_KEEP" ]; then
  cwds= # nothing would go: no need to know who runs where
elif [ -d /proc/self ]; then
  cwds=$nl$(readlink /proc/[0-9]*/cwd 2>/dev/null)$nl
  if [ "$(id -u)" != 0 ]; then
    for p in /proc/[0-9]*; do [ -O "$p" ] || unseen=$((unseen+1)); done
    [ -d /proc/1 ] || unseen=$((unseen+1)) # hidepid: other users' processes are hidden
  fi
  if [ "$unseen" != 0 ] && sudo -n readlink /proc/1/cwd >/dev/null 2>&1; then
    cwds=$nl$(sudo -n readlink /proc/[0-9]*/cwd 2>/dev/null)$nl; unseen=0
  fi
else
  cwds=; unseen=-1
fi
kept=
for r in "$@"; do
  [ "$n" -le "$OPSUI_KEEP" ] && break
  case " $cur $OPSUI_PROTECT " in *" $r "*) continue ;; esac
  rp=$(cd -P -- "$r" 2>/dev/null && pwd -P) || rp=$rels/$r
  case $curp/ in "$rp"/*) continue ;; esac
  case $cwds in *"$nl$rp$nl"*|*"$nl$rp/"*) continue ;; esac
  if [ "$unseen" != 0 ]; then kept="$kept $r"; continue; fi
  rm -rf -- "$r" && n=$((n-1)) && echo "removed release $r"
done
if [ -n "$kept" ]; then
  if [ "$unseen" = -1 ]; then
    why="this host has no /proc to tell which processes run in a release"
  else
    why="$(id -un) cannot see the working directory of $unseen processes of other users"
  fi
  echo "not removed:$kept: $why, and an app server running in a removed release dies on its next reload; let the deploy user run readlink as root (sudoers: USER ALL=(root) NOPASSWD: /usr/bin/readlink) or remove them as root"
fi
echo "$n releases kept"
`

// markBadScript marks a release that failed: it never counts as known-good.
// A release directory that is gone needs no mark; a failed write is an
// error the runner reports.
const markBadScript = `[ ! -d "$DEPLOY_TO/releases/$OPSUI_TARGET" ] || printf '%s\n' "$OPSUI_REASON" > "$DEPLOY_TO/releases/$OPSUI_TARGET/BAD"
`

// unlinkCurrentScript removes current when it points at OPSUI_TARGET: a
// host whose first release failed is left as it was before (no current),
// never serving the broken release nor making it look live.
const unlinkCurrentScript = currentRelease + `if [ "$cur" != "$OPSUI_TARGET" ]; then echo "current is ${cur:-(none)}, not $OPSUI_TARGET: left as it is" >&2; exit 1; fi
rm -f -- "$DEPLOY_TO/current"
echo "current removed: release $OPSUI_TARGET failed and there is no earlier release"
`

// logScript appends one line to revisions.log.
const logScript = `printf '%s\n' "$OPSUI_LINE" >> "$DEPLOY_TO/revisions.log"
`

// inspectScript reports what a host runs now: the release current points
// at and its REVISION, and whether the releases given in OPSUI_CHECK
// (space-separated) exist with a REVISION.
const inspectScript = currentRelease + `printf 'current=%s\n' "$cur"
rev=; { read -r rev < "$DEPLOY_TO/current/REVISION"; } 2>/dev/null
printf 'revision=%s\n' "$rev"
for r in $OPSUI_CHECK; do
  rev=; { read -r rev < "$DEPLOY_TO/releases/$r/REVISION"; } 2>/dev/null
  printf 'release %s=%s\n' "$r" "$rev"
done
`
