package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/opsui/opsui/ops/remote"
)

// How each kind of balancer is read and changed: nginx through the
// upstream file opsui manages, HAProxy through its runtime API, anything
// else through the lb role's own drain and enable commands.

// nginxWriteScript writes the upstream block opsui manages for the app
// (OPSUI_SERVERS: one "address up|down|drained [mark]" per line) and
// reloads nginx, then waits for the old workers to stop taking requests.
// Every server gets max_fails=0: nginx's default (max_fails=1
// fail_timeout=10s) marks a backend dead for 10 s after one failed
// request, which during a rolling reload can leave every backend "dead" at
// once; draining is what keeps requests off a reloading backend instead.
const nginxWriteScript = `f=$OPSUI_UPSTREAM_FILE
{ printf 'upstream %s {\n' "$OPSUI_UPSTREAM"
  printf '%s\n' "$OPSUI_SERVERS" | while read -r addr state mark; do
    [ -n "$addr" ] || continue
    case $state in
    down) printf '    server %s max_fails=0 down;\n' "$addr" ;;
    drained) printf '    server %s max_fails=0 down; %s\n' "$addr" "$mark" ;;
    *) printf '    server %s max_fails=0;\n' "$addr" ;;
    esac
  done
  printf '}\n'; } > "$f.opsui-tmp" && mv -f -- "$f.opsui-tmp" "$f" || exit 1
eval "$OPSUI_LB_RELOAD" || exit 1
sleep "${OPSUI_DRAIN_WAIT:-1}"
echo "upstream $OPSUI_UPSTREAM: $(grep -c ' down;' "$f") of $(grep -c 'server ' "$f") servers down"
`

// nginxReadScript prints the upstream file as it is.
const nginxReadScript = `cat -- "$OPSUI_UPSTREAM_FILE" 2>/dev/null || true
`

// haproxySend defines ha, which sends one line of commands (";"
// separated) to HAProxy's runtime API on the admin socket and prints the
// answer. The line is an argument: no file on the host, so nothing another
// user could guess or swap.
const haproxySend = `ha() {
  if command -v socat >/dev/null 2>&1; then printf '%s\n' "$1" | socat stdio "unix-connect:$OPSUI_SOCKET"
  else python3 -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode())
while True:
  d=s.recv(65536)
  if not d: break
  sys.stdout.write(d.decode())' "$OPSUI_SOCKET" "$1"; fi
}
`

// haproxyScript sets the state of servers through the runtime API:
// OPSUI_SET is "server state" lines, sent as one command line.
const haproxyScript = haproxySend + `cmds=$(printf '%s\n' "$OPSUI_SET" | while read -r srv state; do
  [ -n "$srv" ] || continue
  printf 'set server %s/%s state %s; ' "$OPSUI_HA_BACKEND" "$srv" "$state"
done)
cmds=${cmds%; }
out=$(ha "$cmds") || exit 1
[ -z "$(printf '%s' "$out" | tr -d '[:space:]')" ] || { printf '%s\n' "$out" >&2; exit 1; }
sleep "${OPSUI_DRAIN_WAIT:-1}"
`

// haproxyReadScript prints the backend's servers state.
const haproxyReadScript = haproxySend + `ha "show servers state $OPSUI_HA_BACKEND"
`

// command returns the script that brings lb from before to lb.down.
func (b *balancers) command(lb *lbHost, before map[string]bool) (string, []string, error) {
	hosts := slices.Sorted(maps.Keys(b.backend))
	var lines, drain, enable []string
	for _, h := range hosts {
		be := b.backend[h]
		switch lb.kind {
		case lbNginx:
			state := "up"
			switch {
			case lb.down[h] && lb.initial[h]:
				state = "down"
			case lb.down[h] && lb.left[h] != "" && before[h]:
				state = "drained " + lb.left[h] // keeps the earlier run's mark
			case lb.down[h]:
				state = "drained " + b.mark()
			}
			lines = append(lines, be.addr+" "+state)
		case lbHAProxy:
			if lb.down[h] != before[h] {
				// One command line carries them all: a name that could end
				// a command or the line is refused.
				if be.server == "" || strings.ContainsAny(be.server, "; \t\r\n/") {
					return "", nil, fmt.Errorf("server name %q of %s cannot be sent to HAProxy's runtime API", be.server, h)
				}
				state := "ready"
				if lb.down[h] {
					state = "drain"
				}
				lines = append(lines, be.server+" "+state)
			}
		default:
			switch {
			case lb.down[h] && !before[h]:
				drain = append(drain, be.addr)
			case !lb.down[h] && before[h]:
				enable = append(enable, be.addr)
			}
		}
	}
	switch lb.kind {
	case lbNginx:
		return nginxWriteScript, lines, nil
	case lbHAProxy:
		return haproxyScript, lines, nil
	}
	// Custom commands get the backends to drain or enable in OPSUI_BACKENDS.
	script := ""
	if len(drain) > 0 {
		script += "OPSUI_BACKENDS=" + remote.Quote(strings.Join(drain, " ")) + "; " + lb.opts["drain"] + "\n"
	}
	if len(enable) > 0 {
		script += "OPSUI_BACKENDS=" + remote.Quote(strings.Join(enable, " ")) + "; " + lb.opts["enable"] + "\n"
	}
	return script, nil, nil
}
