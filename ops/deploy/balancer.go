package deploy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
)

// RoleLB marks a load balancer in front of the environment's web hosts.
const RoleLB = "lb"

// Balancer presets, chosen by the lb role's options: preset (nginx,
// haproxy) or drain/enable commands of one's own.
const (
	lbNginx   = "nginx"
	lbHAProxy = "haproxy"
	lbCustom  = "custom"
)

// nginxWriteScript writes the upstream block opsui manages for the app
// (OPSUI_SERVERS: one "address up|down" per line) and reloads nginx, then
// waits for the old workers to stop taking requests. Every server gets
// max_fails=0: nginx's default (max_fails=1 fail_timeout=10s) marks a
// backend dead for 10 s after one failed request, which during a rolling
// reload can leave every backend "dead" at once; draining is what keeps
// requests off a reloading backend instead.
const nginxWriteScript = `f=$OPSUI_UPSTREAM_FILE
{ printf 'upstream %s {\n' "$OPSUI_UPSTREAM"
  printf '%s\n' "$OPSUI_SERVERS" | while read -r addr state; do
    [ -n "$addr" ] || continue
    if [ "$state" = down ]; then printf '    server %s max_fails=0 down;\n' "$addr"; else printf '    server %s max_fails=0;\n' "$addr"; fi
  done
  printf '}\n'; } > "$f.opsui-tmp" && mv -f -- "$f.opsui-tmp" "$f" || exit 1
eval "${OPSUI_LB_RELOAD:-nginx -t -q && nginx -s reload}" || exit 1
sleep "${OPSUI_DRAIN_WAIT:-1}"
echo "upstream $OPSUI_UPSTREAM: $(grep -c ' down;' "$f") of $(grep -c 'server ' "$f") servers down"
`

// nginxReadScript prints the upstream file as it is.
const nginxReadScript = `cat -- "$OPSUI_UPSTREAM_FILE" 2>/dev/null || true
`

// haproxyScript sets the state of servers through the runtime API on the
// admin socket: OPSUI_SET is "server state" lines.
const haproxyScript = `printf '%s\n' "$OPSUI_SET" | while read -r srv state; do
  [ -n "$srv" ] || continue
  printf 'set server %s/%s state %s\n' "$OPSUI_HA_BACKEND" "$srv" "$state"
done > /tmp/.opsui-ha.$$
if command -v socat >/dev/null 2>&1; then socat stdio "unix-connect:$OPSUI_SOCKET" < /tmp/.opsui-ha.$$
else python3 -c 'import socket,sys
for line in open(sys.argv[2]):
  s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(line.encode()); print(s.recv(4096).decode(), end=""); s.close()' "$OPSUI_SOCKET" /tmp/.opsui-ha.$$
fi; rc=$?; rm -f /tmp/.opsui-ha.$$
sleep "${OPSUI_DRAIN_WAIT:-1}"; exit $rc
`

// lbHost is one balancer and the backends it has down.
type lbHost struct {
	hr      *hostRun
	kind    string
	opts    map[string]string
	initial map[string]bool // backends down before the deploy: they stay down
	down    map[string]bool // backends down now
}

// balancers drains a batch's hosts from every balancer of the environment
// before their switch and restores the balancers to the state they had
// once the batch is done, whatever happened.
type balancers struct {
	r       *runner
	lbs     []*lbHost
	backend map[string]backend // by web host name
	mu      sync.Mutex
}

// backend is a web host as its balancers know it.
type backend struct {
	addr   string // address:port, for nginx and custom commands
	server string // server name, for HAProxy
}

// newBalancers finds the environment's balancers among plan.Balancers and
// reads their state.
func (r *runner) newBalancers(ctx context.Context) (*balancers, error) {
	b := &balancers{r: r, backend: map[string]backend{}}
	p := r.plan
	for _, h := range p.Balancers {
		t, ok := r.Targets[h.Name]
		if !ok {
			return nil, fmt.Errorf("no SSH target for balancer %s", h.Name)
		}
		set := p.Fleet.SettingsFor(h, RoleLB)
		kind := set.Options["preset"]
		switch {
		case kind == "" && set.Options["drain"] != "":
			kind = lbCustom
		case kind == "" && set.Options["upstream_file"] != "":
			kind = lbNginx
		case kind == "":
			continue // a balancer opsui is not told how to drain
		}
		if kind != lbNginx && kind != lbHAProxy && kind != lbCustom {
			return nil, fmt.Errorf("balancer %s: unknown preset %q (nginx, haproxy, or drain/enable commands)", h.Name, kind)
		}
		lb := &lbHost{hr: &hostRun{host: h, target: t, began: time.Now()}, kind: kind, opts: set.Options,
			initial: map[string]bool{}, down: map[string]bool{}}
		if kind == lbNginx {
			if set.Options["upstream_file"] == "" {
				return nil, fmt.Errorf("balancer %s: the nginx preset needs options.upstream_file", h.Name)
			}
			out, res := runCapture(ctx, r.conn, t, nginxReadScript, b.env(lb, nil), time.Minute)
			if res.Status != ops.StatusOK {
				return nil, fmt.Errorf("balancer %s: read %s: %w", h.Name, set.Options["upstream_file"], hostErr(res, out))
			}
			for line := range strings.SplitSeq(out, "\n") {
				if f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(line), ";")); len(f) >= 3 && f[0] == "server" && f[len(f)-1] == "down" {
					lb.initial[f[1]] = true
				}
			}
		}
		maps.Copy(lb.down, lb.initial)
		b.lbs = append(b.lbs, lb)
	}
	for _, h := range p.Fleet.Select(inventory.Filter{Env: p.Env.Name, Role: "web"}) {
		b.backend[h.Name] = backendOf(p.Fleet, h)
	}
	// nginx's initial state names addresses; opsui keeps down sets by host.
	for _, lb := range b.lbs {
		for name, be := range b.backend {
			if lb.initial[be.addr] {
				delete(lb.initial, be.addr)
				lb.initial[name] = true
			}
		}
		clear(lb.down)
		maps.Copy(lb.down, lb.initial)
	}
	return b, nil
}

// backendOf names web host h to its balancers: options.backend (address)
// else the address it binds, else its address on port 8000; and
// options.server (HAProxy's name for it) else its own name.
func backendOf(f *inventory.Fleet, h inventory.Host) backend {
	set := f.SettingsFor(h, "web")
	be := backend{addr: h.Address + ":8000", server: orDefault(set.Options["server"], h.Name)}
	switch {
	case set.Options["backend"] != "":
		be.addr = set.Options["backend"]
	case set.Options["bind"] != "":
		be.addr = set.Options["bind"]
	}
	return be
}

// env is the environment of a balancer command.
func (b *balancers) env(lb *lbHost, servers []string) map[string]string {
	e := map[string]string{
		"OPSUI_UPSTREAM_FILE": lb.opts["upstream_file"],
		"OPSUI_UPSTREAM":      orDefault(lb.opts["upstream"], b.r.plan.App.Name),
		"OPSUI_LB_RELOAD":     lb.opts["reload"],
		"OPSUI_DRAIN_WAIT":    orDefault(lb.opts["drain_wait"], "1"),
		"OPSUI_SOCKET":        lb.opts["admin_socket"],
		"OPSUI_HA_BACKEND":    orDefault(lb.opts["backend"], b.r.plan.App.Name),
		"OPSUI_SERVERS":       strings.Join(servers, "\n"),
		"OPSUI_SET":           strings.Join(servers, "\n"),
	}
	return e
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// drain takes hs out of every balancer.
func (b *balancers) drain(ctx context.Context, hs []*hostRun) {
	var names []string
	for _, h := range hs {
		if _, ok := b.backend[h.host.Name]; ok {
			names = append(names, h.host.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	// Draining every backend at once would take the site down: an
	// all-at-once batch stays in rotation and relies on the graceful reload.
	for _, lb := range b.lbs {
		inRotation := 0
		for h := range b.backend {
			if !lb.down[h] && !slices.Contains(names, h) {
				inRotation++
			}
		}
		if inRotation == 0 {
			b.r.notef("balancer %s: %s not drained: no backend would be left in rotation (the reload is graceful)",
				lb.hr.host.Name, strings.Join(names, ", "))
			return
		}
	}
	b.apply(ctx, "drained "+strings.Join(names, ", "), func(lb *lbHost) {
		for _, n := range names {
			lb.down[n] = true
		}
	})
}

// restore puts every balancer back in the state it had before the deploy.
func (b *balancers) restore(ctx context.Context) {
	b.apply(ctx, "restored", func(lb *lbHost) {
		clear(lb.down)
		maps.Copy(lb.down, lb.initial)
	})
}

// apply changes each balancer's down set with change and pushes it, when
// it changed. A balancer that cannot be changed is a note, not a host
// failure: the hosts are still switched safely (reload is graceful).
func (b *balancers) apply(ctx context.Context, what string, change func(lb *lbHost)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, lb := range b.lbs {
		before := maps.Clone(lb.down)
		change(lb)
		if maps.Equal(before, lb.down) {
			continue
		}
		script, servers := b.command(lb, before)
		out, res := runCapture(ctx, b.r.conn, lb.hr.target, script, b.env(lb, servers), time.Minute)
		if res.Status != ops.StatusOK {
			b.r.notef("balancer %s: %s failed: %v", lb.hr.host.Name, what, hostErr(res, out))
			continue
		}
		down := slices.Sorted(maps.Keys(lb.down))
		b.r.notef("balancer %s: %s (down now: %s)", lb.hr.host.Name, what, orDefault(strings.Join(down, ", "), "none"))
	}
}

// command returns the script that brings lb from before to lb.down.
func (b *balancers) command(lb *lbHost, before map[string]bool) (string, []string) {
	hosts := slices.Sorted(maps.Keys(b.backend))
	var lines, drain, enable []string
	for _, h := range hosts {
		be := b.backend[h]
		switch lb.kind {
		case lbNginx:
			state := "up"
			if lb.down[h] {
				state = "down"
			}
			lines = append(lines, be.addr+" "+state)
		case lbHAProxy:
			if lb.down[h] != before[h] {
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
		return nginxWriteScript, lines
	case lbHAProxy:
		return haproxyScript, lines
	}
	// Custom commands get the backends to drain or enable in OPSUI_BACKENDS.
	script := ""
	if len(drain) > 0 {
		script += "OPSUI_BACKENDS=" + ops.Quote(strings.Join(drain, " ")) + "; " + lb.opts["drain"] + "\n"
	}
	if len(enable) > 0 {
		script += "OPSUI_BACKENDS=" + ops.Quote(strings.Join(enable, " ")) + "; " + lb.opts["enable"] + "\n"
	}
	return script, nil
}
