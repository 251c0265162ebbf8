package deploy

// sudoPrelude starts every script opsui runs on a host. It makes `sudo`
// in a step, a reload or a balancer command mean `sudo -n`: without a
// terminal sudo would fail on a password prompt at best, and hang on one
// where a terminal is given (capistrano/sshkit#191, fabric/fabric#1999).
// A command the deploy user may not run without a password fails at once
// with the exact sudoers line that allows it (the words sudo -l checks,
// escaped as sudoers wants), instead of sudo's bare "a password is
// required". A sudo with options of its own (-u USER ...) only gets -n.
const sudoPrelude = `sudo() {
  case ${1-} in -*) command sudo -n "$@"; return ;; esac
  if ! command -v sudo >/dev/null 2>&1; then
    echo "opsui: sudo is not installed on $(uname -n): cannot run: sudo $*" >&2; return 127
  fi
  if ! command sudo -n -l -- "$@" >/dev/null 2>&1; then
    _opsui_p=$(command -v -- "$1" 2>/dev/null) || _opsui_p=$1
    shift
    _opsui_c=$(printf '%s' "$_opsui_p${*:+ $*}" | sed 's/[\\,:=]/\\&/g')
    echo "opsui: sudo: $(id -un) may not run this as root without a password on $(uname -n); allow it with this sudoers line (opsui setup --print-sudoers lists them all): $(id -un) ALL=(root) NOPASSWD: $_opsui_c" >&2
    return 1
  fi
  command sudo -n -- "$@"
}
`
