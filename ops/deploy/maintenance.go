package deploy

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// Maintenance mode: every balancer of the environment answers each request
// with 503, the operator's message and Retry-After, while the app servers
// stay up (opsui's health checks go to them directly). The nginx preset
// does it through options.maintenance_file, a file the app's server block
// includes (`include PATH;`): opsui writes it, checks the configuration
// and reloads nginx.

// Limits of a maintenance message and of its Retry-After.
const (
	MaxMaintenanceMessage = 4096
	MaxRetryAfter         = 24 * time.Hour
	// DefaultRetryAfter is Retry-After when none is given.
	DefaultRetryAfter = 5 * time.Minute
	// DefaultMaintenanceMessage is the message when none is given.
	DefaultMaintenanceMessage = "Down for maintenance; back soon."
)

// MaintenanceState is what the balancers answer: On with Message and
// RetryAfter, or the app as usual.
type MaintenanceState struct {
	On         bool
	Message    string
	RetryAfter time.Duration
}

// Check refuses a message or Retry-After the balancers could not send as
// given: the message is UTF-8 text (line breaks and tabs allowed, no other
// control characters), at most MaxMaintenanceMessage bytes; Retry-After is
// whole seconds from 1s to MaxRetryAfter.
func (st MaintenanceState) Check() error {
	if !st.On {
		return nil
	}
	if len(st.Message) > MaxMaintenanceMessage {
		return fmt.Errorf("the maintenance message is %d bytes; at most %d", len(st.Message), MaxMaintenanceMessage)
	}
	if !utf8.ValidString(st.Message) {
		return errors.New("the maintenance message is not UTF-8 text")
	}
	for i, r := range st.Message {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return fmt.Errorf("the maintenance message holds control character %U at byte %d (only line breaks and tabs are allowed)", r, i)
		}
	}
	if st.RetryAfter < time.Second || st.RetryAfter > MaxRetryAfter || st.RetryAfter%time.Second != 0 {
		return fmt.Errorf("Retry-After %s: want whole seconds from 1s to %s", st.RetryAfter, MaxRetryAfter)
	}
	return nil
}

// maintSaveScript prints the maintenance file and its message as they are
// ("present BASE64" or "absent" for each), so that a change that fails on
// another balancer can put back exactly what was there.
const maintSaveScript = `for f in "$OPSUI_MAINT_FILE" "$OPSUI_MAINT_FILE.message"; do
  if [ -e "$f" ]; then printf 'present %s\n' "$(base64 -w0 < "$f")" || exit 1; else echo absent; fi
done
`

// maintWriteScript writes the maintenance file (OPSUI_MAINT_CONF) and its
// message (OPSUI_MAINT_MESSAGE: "present BASE64" or "absent" each), then
// reloads nginx, which checks the configuration first (nginx -t): when
// the reload fails the files are put back as they were, unreloaded. The
// message goes to a file nginx serves as it is, so no character of it is
// ever nginx syntax.
const maintWriteScript = `f=$OPSUI_MAINT_FILE
umask 022
[ -d "$(dirname -- "$f")" ] || { echo "opsui: $(dirname -- "$f") does not exist on $(uname -n) (options.maintenance_file)" >&2; exit 1; }
put() { # put FILE "present BASE64"|absent
  case $2 in
  absent) rm -f -- "$1" ;;
  *) printf '%s' "${2#present }" | base64 -d > "$1.opsui-tmp" && mv -f -- "$1.opsui-tmp" "$1" ;;
  esac
}
for g in "$f" "$f.message"; do
  if [ -e "$g" ]; then cp -p -- "$g" "$g.opsui-prev" || exit 1; else rm -f -- "$g.opsui-prev"; fi
done
back() {
  for g in "$f" "$f.message"; do
    if [ -e "$g.opsui-prev" ]; then mv -f -- "$g.opsui-prev" "$g"; else rm -f -- "$g"; fi
  done
}
# An absent message goes only once no worker serves it any more (below).
{ [ "$OPSUI_MAINT_MESSAGE" = absent ] || put "$f.message" "$OPSUI_MAINT_MESSAGE"; } && put "$f" "$OPSUI_MAINT_CONF" || { back; exit 1; }
if ! out=$(eval "$OPSUI_LB_RELOAD" 2>&1); then
  back
  printf '%s\n' "$out" >&2
  echo "opsui: the reload refused the new $f; it holds what it held before" >&2
  exit 1
fi
rm -f -- "$f.opsui-prev" "$f.message.opsui-prev"
# nginx -s reload returns before the new workers take requests: wait, as a drain does.
sleep "${OPSUI_DRAIN_WAIT:-1}"
# Removed between nginx's try_files and its open, a request would get 404.
[ "$OPSUI_MAINT_MESSAGE" != absent ] || rm -f -- "$f.message"
`

// maintMarker starts the first line of a maintenance file opsui wrote.
const maintMarker = "# opsui maintenance: "

// nginxMaintenanceConf is the maintenance file for st on the balancer
// whose options.maintenance_file is path: while on, every request gets
// 503 (server-level return, before any location) and nginx's error page
// for 503 is the message file, sent with Retry-After. A named location is
// entered after the server's rewrite phase, so the return does not loop.
// Only the path (plain characters, options.maintenance_file) and a number
// are written into nginx syntax.
func nginxMaintenanceConf(path string, st MaintenanceState, about string) string {
	if !st.On {
		return maintMarker + "off " + about + "\n"
	}
	dir, base := path[:strings.LastIndexByte(path, '/')+1], path[strings.LastIndexByte(path, '/')+1:]
	return maintMarker + "on " + about + "\n" +
		"error_page 503 @opsui_maintenance;\n" +
		"location @opsui_maintenance {\n" +
		"    root \"" + dir + "\";\n" +
		"    default_type text/plain;\n" +
		"    charset utf-8;\n" +
		fmt.Sprintf("    add_header Retry-After %d always;\n", int64(st.RetryAfter/time.Second)) +
		"    add_header Cache-Control \"no-store\" always;\n" +
		"    try_files \"/" + base + ".message\" =503;\n" +
		"}\n" +
		"return 503;\n"
}

// MaintenanceOptions say which environment's balancers maintenance mode
// works on.
type MaintenanceOptions struct {
	Conn     remote.Connector
	Fleet    *inventory.Fleet
	App, Env string
	// Targets must hold the environment's hosts with the lb role.
	Targets map[string]remote.Target
	// About ends the maintenance file's first line: who and when, in
	// plain words (safeWord keeps what cannot end the comment).
	About string
	// Note receives what is done on each balancer (nil: nothing is said).
	Note func(host, line string)
}

// maintLB is a balancer maintenance mode works on.
type maintLB struct {
	host   inventory.Host
	kind   string // lbNginx or lbHAProxy
	target remote.Target
	file   string
	reload string
	wait   string // seconds after the reload (options.drain_wait)
}

// MaintenanceBalancers returns the environment's balancers, each of which
// must be able to answer 503 for the app: an nginx preset with
// options.maintenance_file. One that cannot is an error naming it, so
// maintenance is on at every balancer or none. o.Targets may be nil here.
func MaintenanceBalancers(o MaintenanceOptions) ([]inventory.Host, error) {
	lbs, err := maintenanceLBs(o)
	hs := make([]inventory.Host, len(lbs))
	for i, lb := range lbs {
		hs[i] = lb.host
	}
	return hs, err
}

func maintenanceLBs(o MaintenanceOptions) ([]maintLB, error) {
	var out []maintLB
	var errs []error
	for _, h := range o.Fleet.Select(inventory.Filter{Env: o.Env, Role: RoleLB}) {
		set := o.Fleet.SettingsFor(h, RoleLB)
		kind, why := inventory.RolePreset(RoleLB, set)
		switch {
		case kind != lbNginx && kind != lbHAProxy:
			errs = append(errs, fmt.Errorf("balancer %s cannot answer 503 for maintenance: opsui does it with the nginx or haproxy preset and options.maintenance_file (its preset: %s)",
				h.Name, orDefault(kind, why)))
			continue
		case set.Options["maintenance_file"] == "" && kind == lbNginx:
			errs = append(errs, fmt.Errorf("balancer %s has no options.maintenance_file: set it to a file its server block includes (include PATH;)", h.Name))
			continue
		case set.Options["maintenance_file"] == "":
			errs = append(errs, fmt.Errorf("balancer %s has no options.maintenance_file: set it to the map file of its frontend's maintenance rule (see the README)", h.Name))
			continue
		case kind == lbHAProxy && set.Options["reload"] == "":
			errs = append(errs, fmt.Errorf("balancer %s has no options.reload: HAProxy reads the maintenance files when it reloads; set a command that checks the configuration first, e.g. haproxy -c -q -f /etc/haproxy/haproxy.cfg && sudo /usr/bin/systemctl reload haproxy.service", h.Name))
			continue
		}
		t, ok := o.Targets[h.Name]
		if !ok && o.Targets != nil {
			errs = append(errs, fmt.Errorf("no SSH target for balancer %s", h.Name))
			continue
		}
		out = append(out, maintLB{host: h, kind: kind, target: t, file: set.Options["maintenance_file"],
			reload: orDefault(set.Options["reload"], inventory.NginxReload(set.Sudo)), wait: orDefault(set.Options["drain_wait"], "1")})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s has no load balancer (role lb): maintenance mode is answered by the balancers", o.Env)
	}
	return out, nil
}

// savedMaint is a balancer's maintenance file and message as they were.
type savedMaint struct{ conf, message string }

// MaintenanceHost is what maintenance on or off did on one balancer.
type MaintenanceHost struct {
	Balancer string
	// Changed: it answers as asked. PutBack: it was changed, then put back
	// as it was because another balancer failed. Err: it failed (or its
	// put-back did).
	Changed, PutBack bool
	Err              error
}

// SetMaintenance puts every balancer of the environment in state st, in
// name order. All or none: when one fails, those already changed are put
// back as they were and the error names the balancer. It returns what
// happened on each balancer it reached.
func SetMaintenance(ctx context.Context, o MaintenanceOptions, st MaintenanceState) ([]MaintenanceHost, error) {
	if err := st.Check(); err != nil {
		return nil, err
	}
	lbs, err := maintenanceLBs(o)
	if err != nil {
		return nil, err
	}
	note := func(host, format string, args ...any) {
		if o.Note != nil {
			o.Note(host, fmt.Sprintf(format, args...))
		}
	}
	// What each holds now is read before anything changes.
	saved := make([]savedMaint, len(lbs))
	for i, lb := range lbs {
		out, res := runCapture(ctx, o.Conn, lb.target, maintSaveScript, map[string]string{"OPSUI_MAINT_FILE": lb.file}, time.Minute)
		if res.Status != remote.StatusOK {
			return nil, fmt.Errorf("balancer %s: read %s: %w", lb.host.Name, lb.file, hostErr(res, out))
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 2 {
			return nil, fmt.Errorf("balancer %s: read %s: unexpected answer %q", lb.host.Name, lb.file, remote.Visible(out))
		}
		saved[i] = savedMaint{conf: lines[0], message: lines[1]}
	}
	word := "off"
	if st.On {
		word = "on"
	}
	about := safeAbout(o.About)
	hosts := make([]MaintenanceHost, 0, len(lbs))
	for i, lb := range lbs {
		conf, msg := lb.files(st, about)
		err := writeMaint(ctx, o.Conn, lb, conf, msg)
		if err == nil {
			note(lb.host.Name, "maintenance %s: %s written, nginx reloaded", word, lb.file)
			hosts = append(hosts, MaintenanceHost{Balancer: lb.host.Name, Changed: true})
			continue
		}
		err = fmt.Errorf("balancer %s: maintenance %s failed: %w", lb.host.Name, word, err)
		note(lb.host.Name, "%v", err)
		hosts = append(hosts, MaintenanceHost{Balancer: lb.host.Name, Err: err})
		// Put back the balancers already changed, newest first.
		errs := []error{err}
		var back []string
		for j := i - 1; j >= 0; j-- {
			h := &hosts[j]
			h.Changed = false
			if berr := writeMaint(context.WithoutCancel(ctx), o.Conn, lbs[j], saved[j].conf, saved[j].message); berr != nil {
				h.Err = fmt.Errorf("balancer %s: putting back its maintenance file failed too: %w", lbs[j].host.Name, berr)
				errs = append(errs, h.Err)
				note(lbs[j].host.Name, "%v", h.Err)
				continue
			}
			h.PutBack = true
			back = append(back, lbs[j].host.Name)
			note(lbs[j].host.Name, "put back as it was: balancer %s failed", lb.host.Name)
		}
		if len(back) > 0 {
			errs = append(errs, fmt.Errorf("put back as they were: %s", strings.Join(back, ", ")))
		}
		return hosts, errors.Join(errs...)
	}
	return hosts, nil
}

// files are the maintenance file and message lb gets for st, as
// writeMaint takes them. nginx's message goes when off (it is removed
// once no worker serves it); HAProxy's stays, empty, as its rule reads it
// when the configuration is loaded.
func (lb maintLB) files(st MaintenanceState, about string) (conf, message string) {
	b64 := func(s string) string { return "present " + base64.StdEncoding.EncodeToString([]byte(s)) }
	message = "absent"
	switch {
	case st.On:
		message = b64(strings.TrimRight(st.Message, "\n") + "\n")
	case lb.kind == lbHAProxy:
		message = b64("")
	}
	if lb.kind == lbHAProxy {
		return b64(haproxyMaintenanceMap(st, about)), message
	}
	return b64(nginxMaintenanceConf(lb.file, st, about)), message
}

// haproxyMaintenanceMap is the map the HAProxy frontend's maintenance rule
// reads: "on on" and the Retry-After seconds while on. The message is a
// file of its own (PATH.message, the rule's file), never map or
// configuration syntax: HAProxy's log-format strings (lf-string, or a map
// value sent through the runtime API) would escape its line breaks and
// non-ASCII bytes as %0A and the like.
func haproxyMaintenanceMap(st MaintenanceState, about string) string {
	if !st.On {
		return maintMarker + "off " + about + "\n"
	}
	return maintMarker + "on " + about + "\n" + fmt.Sprintf("on on\nretry %d\n", int64(st.RetryAfter/time.Second))
}

// writeMaint writes a balancer's maintenance file and message and reloads.
func writeMaint(ctx context.Context, conn remote.Connector, lb maintLB, conf, message string) error {
	env := map[string]string{"OPSUI_MAINT_FILE": lb.file, "OPSUI_MAINT_CONF": conf, "OPSUI_MAINT_MESSAGE": message, "OPSUI_LB_RELOAD": lb.reload, "OPSUI_DRAIN_WAIT": lb.wait}
	out, res := runCapture(ctx, conn, lb.target, maintWriteScript, env, 2*time.Minute)
	if res.Status != remote.StatusOK {
		return hostErr(res, out)
	}
	return nil
}

// safeAbout keeps the words of s that cannot end the file's comment line.
func safeAbout(s string) string {
	var words []string
	for _, w := range strings.Fields(s) {
		if w = safeWord(w); w != "" {
			words = append(words, w)
		}
	}
	return strings.Join(words, " ")
}

// BalancerMaintenance is what one balancer's maintenance file says.
type BalancerMaintenance struct {
	Balancer string
	// On is whether the file answers 503; Line is its first line, as
	// opsui wrote it ("" when the file is missing or not opsui's).
	On   bool
	Line string
	Err  error // the file could not be read
}

// ReadMaintenance reads the maintenance file of each of the environment's
// balancers.
func ReadMaintenance(ctx context.Context, o MaintenanceOptions) ([]BalancerMaintenance, error) {
	lbs, err := maintenanceLBs(o)
	if err != nil {
		return nil, err
	}
	out := make([]BalancerMaintenance, len(lbs))
	for i, lb := range lbs {
		text, res := runCapture(ctx, o.Conn, lb.target, `head -n 1 -- "$OPSUI_MAINT_FILE" 2>/dev/null || true`+"\n",
			map[string]string{"OPSUI_MAINT_FILE": lb.file}, time.Minute)
		out[i].Balancer = lb.host.Name
		if res.Status != remote.StatusOK {
			out[i].Err = hostErr(res, text)
			continue
		}
		if line := strings.TrimSpace(text); strings.HasPrefix(line, maintMarker) {
			out[i].Line = line
			out[i].On = strings.HasPrefix(line, maintMarker+"on")
		}
	}
	return out, nil
}
