package deploy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// RoleLB marks a load balancer in front of the environment's web hosts.
const RoleLB = "lb"

// Balancer presets, chosen by the lb role's options: preset (nginx,
// haproxy) or drain/enable commands of one's own.
const (
	lbNginx   = inventory.BalancerNginx
	lbHAProxy = inventory.BalancerHAProxy
	lbCustom  = inventory.BalancerCustom
)

// DrainMark ends the upstream file's server line of a backend opsui took
// out of rotation (see ops.DrainMark).
const DrainMark = remote.DrainMark

// lbHost is one balancer and the backends it has down, by web host name.
type lbHost struct {
	host    inventory.Host
	target  remote.Target
	kind    string
	opts    map[string]string
	sudo    bool              // its role says sudo: true: nginx's default reload runs with sudo
	initial map[string]bool   // down by an operator's hand: they stay down
	down    map[string]bool   // down now, as far as opsui knows
	left    map[string]string // left drained by an earlier opsui run: its mark
}

// balancerEnv is what working on an environment's balancers needs: a
// deploy's or a command's (opsui lb restore, unlock).
type balancerEnv struct {
	conn         remote.Connector
	fleet        *inventory.Fleet
	app, envName string
	lbs          []inventory.Host
	targets      map[string]remote.Target
	st           *store.Store // records what opsui drains; nil records nothing
	runID        int64
	operator     string
	note         func(string)
}

// balancers drains a batch's hosts from every balancer of the environment
// before their switch and restores the balancers to the state they had
// once the batch is done, whatever happened. What it drains is marked in
// the upstream file and recorded in the store before the balancer changes,
// so a deploy that dies leaves backends known to be opsui's.
type balancers struct {
	balancerEnv
	lbs      []*lbHost
	backend  map[string]backend // by web host name
	mu       sync.Mutex
	warnings []string
	// stopped are web hosts a failed first deploy stopped: restore leaves
	// them out of rotation (stopServing).
	stopped map[string]bool
}

// backend is a web host as its balancers know it.
type backend struct {
	addr   string // address:port, for nginx and custom commands
	server string // server name, for HAProxy
}

// newBalancers reads the state of the deploy's balancers.
func (r *runner) newBalancers(ctx context.Context) (*balancers, error) {
	var runID int64
	if r.rec != nil {
		runID = r.rec.RunID()
	}
	return openBalancers(ctx, balancerEnv{conn: r.conn, fleet: r.plan.Fleet, app: r.plan.App.Name, envName: r.plan.Env.Name,
		lbs: r.plan.Balancers, targets: r.Targets, st: r.Store, runID: runID, operator: r.Operator,
		note: func(s string) { r.notef("%s", s) }})
}

// openBalancers finds the balancers opsui is told how to drain among
// e.lbs and reads their state: which backends are down by an operator's
// hand, and which an earlier opsui run left drained (by the upstream
// file's mark, or the store's record).
func openBalancers(ctx context.Context, e balancerEnv) (*balancers, error) {
	b := &balancers{balancerEnv: e, backend: map[string]backend{}}
	for _, h := range e.fleet.Select(inventory.Filter{Env: e.envName, Role: "web"}) {
		b.backend[h.Name] = backendOf(e.fleet, h)
	}
	recorded := map[string]map[string]string{} // balancer -> backend -> run
	if e.st != nil {
		open, err := e.st.OpenDrained(ctx, e.app, e.envName)
		if err != nil {
			return nil, err
		}
		for _, d := range open {
			if recorded[d.Balancer] == nil {
				recorded[d.Balancer] = map[string]string{}
			}
			why := "recorded by opsui"
			if d.RunID.Valid {
				why = fmt.Sprintf("run %d", d.RunID.Int64)
			}
			recorded[d.Balancer][d.Backend] = why
		}
	}
	for _, h := range e.lbs {
		t, ok := e.targets[h.Name]
		if !ok {
			return nil, fmt.Errorf("no SSH target for balancer %s", h.Name)
		}
		set := e.fleet.SettingsFor(h, RoleLB)
		kind, _ := inventory.RolePreset(RoleLB, set)
		if kind == "" {
			continue // a balancer opsui is not told how to drain
		}
		if kind != lbNginx && kind != lbHAProxy && kind != lbCustom {
			return nil, fmt.Errorf("balancer %s: unknown preset %q (nginx, haproxy, or drain/enable commands)", h.Name, kind)
		}
		lb := &lbHost{host: h, target: t, kind: kind, opts: set.Options, sudo: set.Sudo,
			initial: map[string]bool{}, down: map[string]bool{}, left: map[string]string{}}
		if err := b.read(ctx, lb, recorded[h.Name]); err != nil {
			return nil, err
		}
		maps.Copy(lb.down, lb.initial)
		for n := range lb.left {
			lb.down[n] = true
		}
		b.lbs = append(b.lbs, lb)
	}
	return b, nil
}

// read fills lb's initial and left sets from what the balancer says and
// the store's records of what opsui drained from it.
func (b *balancers) read(ctx context.Context, lb *lbHost, recorded map[string]string) error {
	var down map[string]string // backend -> opsui's mark ("" for an operator's down)
	switch lb.kind {
	case lbNginx:
		if lb.opts["upstream_file"] == "" {
			return fmt.Errorf("balancer %s: the nginx preset needs options.upstream_file", lb.host.Name)
		}
		out, res := runCapture(ctx, b.conn, lb.target, nginxReadScript, b.env(lb, nil), time.Minute)
		if res.Status != remote.StatusOK {
			return fmt.Errorf("balancer %s: read %s: %w", lb.host.Name, lb.opts["upstream_file"], hostErr(res, out))
		}
		down = b.byHost(remote.ParseUpstream(out), func(be backend) string { return be.addr })
	case lbHAProxy:
		out, res := runCapture(ctx, b.conn, lb.target, haproxyReadScript, b.env(lb, nil), time.Minute)
		if res.Status != remote.StatusOK {
			return fmt.Errorf("balancer %s: read the state of backend %s: %w", lb.host.Name, b.env(lb, nil)["OPSUI_HA_BACKEND"], hostErr(res, out))
		}
		down = b.byHost(remote.ParseHAProxyState(out, b.env(lb, nil)["OPSUI_HA_BACKEND"]), func(be backend) string { return be.server })
	default:
		// Custom commands cannot be asked: the store's record is all there is.
		down = map[string]string{}
		for n, why := range recorded {
			down[n] = DrainMark + " " + why
		}
	}
	var gone []string
	for n := range recorded {
		if _, ok := down[n]; !ok {
			gone = append(gone, n) // put back by someone else since
		}
	}
	if len(gone) > 0 && b.st != nil {
		if err := b.st.RestoreDrained(ctx, b.app, b.envName, lb.host.Name, gone, "found in rotation"); err != nil {
			b.warnf("%v", err)
		}
	}
	for n, mark := range down {
		switch why, ok := recorded[n]; {
		case mark != "":
			lb.left[n] = mark
		case ok:
			lb.left[n] = why // HAProxy keeps no mark: the store's record says it was opsui
		default:
			lb.initial[n] = true
		}
	}
	return nil
}

// byHost maps a balancer's down backends (by address or server name) to
// the web hosts they are; backends that are no web host of the
// environment are left out.
func (b *balancers) byHost(down map[string]string, key func(backend) string) map[string]string {
	out := map[string]string{}
	for name, be := range b.backend {
		if mark, ok := down[key(be)]; ok {
			out[name] = mark
		}
	}
	return out
}

// backendOf names web host h to its balancers: options.backend (address)
// else the address it binds, else its address on port 8000; and
// options.server (HAProxy's name for it) else its own name.
func backendOf(f *inventory.Fleet, h inventory.Host) backend {
	set := f.SettingsFor(h, "web")
	be := backend{addr: h.SSHAddress() + ":8000", server: orDefault(set.Options["server"], h.Name)}
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
		"OPSUI_UPSTREAM":      orDefault(lb.opts["upstream"], b.app),
		"OPSUI_LB_RELOAD":     orDefault(lb.opts["reload"], inventory.NginxReload(lb.sudo)),
		"OPSUI_DRAIN_WAIT":    orDefault(lb.opts["drain_wait"], "1"),
		"OPSUI_SOCKET":        lb.opts["admin_socket"],
		"OPSUI_HA_BACKEND":    orDefault(lb.opts["backend"], b.app),
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

func (b *balancers) notef(format string, args ...any) {
	if b.note != nil {
		b.note(fmt.Sprintf(format, args...))
	}
}

// warnf notes a balancer step that failed: the deploy's summary shows it
// as a warning and the command exits non-zero.
func (b *balancers) warnf(format string, args ...any) {
	msg := "warning: " + fmt.Sprintf(format, args...)
	b.mu.Lock()
	b.warnings = append(b.warnings, msg)
	b.mu.Unlock()
	b.notef("%s", msg)
}

// Warnings returns the balancer steps that failed.
func (b *balancers) Warnings() []string {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.warnings)
}

// describe says what is out of rotation before a deploy: what an earlier
// opsui run left drained (this deploy puts it back) and what an operator
// took out (it stays out).
func (b *balancers) describe() []string {
	var out []string
	for _, lb := range b.lbs {
		for _, n := range slices.Sorted(maps.Keys(lb.left)) {
			out = append(out, fmt.Sprintf("warning: balancer %s: %s was left drained by an earlier opsui run (%s); this deploy puts it back",
				lb.host.Name, n, lb.left[n]))
		}
		if len(lb.initial) > 0 {
			out = append(out, fmt.Sprintf("balancer %s: %s marked down by hand: kept down (opsui lb restore --include-manual puts it back)",
				lb.host.Name, strings.Join(slices.Sorted(maps.Keys(lb.initial)), ", ")))
		}
	}
	return out
}

// drain takes hs out of every balancer. An error means a balancer could
// not be told: those hosts must not be switched.
func (b *balancers) drain(ctx context.Context, hs []*hostRun) error {
	var names []string
	for _, h := range hs {
		if _, ok := b.backend[h.host.Name]; ok {
			names = append(names, h.host.Name)
		}
	}
	if len(names) == 0 {
		return nil
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
			b.notef("balancer %s: %s not drained: no backend would be left in rotation (the reload is graceful)",
				lb.host.Name, strings.Join(names, ", "))
			return nil
		}
	}
	return b.apply(ctx, "drain "+strings.Join(names, ", "), "drained "+strings.Join(names, ", "), func(lb *lbHost) {
		for _, n := range names {
			lb.down[n] = true
		}
	})
}

// restore puts every balancer back in the state it had before the
// deploy, less what an earlier run left drained. A failure is a warning.
func (b *balancers) restore(ctx context.Context) error {
	return b.apply(ctx, "restore", "restored", func(lb *lbHost) {
		clear(lb.down)
		maps.Copy(lb.down, lb.initial)
		for n := range b.stopped {
			if _, ok := b.backend[n]; ok {
				lb.down[n] = true
			}
		}
	})
}

// keepOut leaves host out of rotation at every later restore.
func (b *balancers) keepOut(host string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped == nil {
		b.stopped = map[string]bool{}
	}
	b.stopped[host] = true
}

// putBack puts back what opsui drained from the balancers (of hosts only,
// when given), and with manual also what an operator marked down. It
// returns what it put back, as "balancer: host" entries.
func (b *balancers) putBack(ctx context.Context, hosts []string, manual bool) ([]string, error) {
	var back []string
	err := b.apply(ctx, "put back", "put back", func(lb *lbHost) {
		for _, n := range slices.Sorted(maps.Keys(lb.down)) {
			if len(hosts) > 0 && !slices.Contains(hosts, n) {
				continue
			}
			if lb.initial[n] && !manual {
				continue
			}
			delete(lb.down, n)
			delete(lb.initial, n)
			back = append(back, lb.host.Name+": "+n)
		}
	})
	return back, err
}

// apply changes each balancer's down set with change and pushes it, when
// it changed. What it drains is recorded before the balancer is told (a
// deploy that dies right after still knows it), and what it puts back
// after. A balancer that cannot be changed is a warning and the error.
func (b *balancers) apply(ctx context.Context, verb, did string, change func(lb *lbHost)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, lb := range b.lbs {
		before := maps.Clone(lb.down)
		change(lb)
		if maps.Equal(before, lb.down) {
			continue
		}
		var drained []store.Drained
		var up []string
		for n := range lb.down {
			if !before[n] && !lb.initial[n] {
				drained = append(drained, store.Drained{App: b.app, Env: b.envName, Balancer: lb.host.Name, Backend: n,
					Addr: b.backend[n].addr, Operator: b.operator})
				if b.runID != 0 {
					drained[len(drained)-1].RunID.Int64, drained[len(drained)-1].RunID.Valid = b.runID, true
				}
			}
		}
		for n := range before {
			if !lb.down[n] {
				up = append(up, n)
			}
		}
		if b.st != nil && len(drained) > 0 {
			if err := b.st.RecordDrained(ctx, drained); err != nil {
				b.warnLocked("balancer %s: %v", lb.host.Name, err)
			}
		}
		script, servers, err := b.command(lb, before)
		if err == nil {
			out, res := runCapture(ctx, b.conn, lb.target, script, b.env(lb, servers), time.Minute)
			if res.Status != remote.StatusOK {
				err = hostErr(res, out)
			}
		}
		if err != nil {
			err = fmt.Errorf("balancer %s: %s failed: %w", lb.host.Name, verb, err)
			b.warnLocked("%v", err)
			errs = append(errs, err)
			continue
		}
		if b.st != nil && len(up) > 0 {
			if err := b.st.RestoreDrained(ctx, b.app, b.envName, lb.host.Name, up, b.operator); err != nil {
				b.warnLocked("balancer %s: %v", lb.host.Name, err)
			}
		}
		for _, n := range up {
			delete(lb.left, n)
		}
		down := slices.Sorted(maps.Keys(lb.down))
		b.notef("balancer %s: %s (down now: %s)", lb.host.Name, did, orDefault(strings.Join(down, ", "), "none"))
	}
	return errors.Join(errs...)
}

// warnLocked is warnf with b.mu held.
func (b *balancers) warnLocked(format string, args ...any) {
	msg := "warning: " + fmt.Sprintf(format, args...)
	b.warnings = append(b.warnings, msg)
	b.notef("%s", msg)
}

// mark is the comment put on a backend this run drains.
func (b *balancers) mark() string {
	m := DrainMark
	if b.runID != 0 {
		m += fmt.Sprintf(" run=%d", b.runID)
	}
	if op := safeWord(b.operator); op != "" {
		m += " by=" + op
	}
	return m
}

// safeWord keeps the characters of s that cannot end a comment or a line
// in a config file.
func safeWord(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._@-", r) {
			return r
		}
		return -1
	}, s)
}
