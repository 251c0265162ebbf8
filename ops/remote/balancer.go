package remote

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// DrainMark ends the nginx upstream file's server line of a backend opsui
// took out of rotation: "server ADDR max_fails=0 down; # opsui-drained
// run=42 by=alice". A "down" without it is an operator's and is kept; one
// with it is put back by the next deploy, opsui unlock and opsui lb
// restore.
const DrainMark = "# opsui-drained"

// BalancerProbe says how a probe reads what a load balancer has out of
// rotation.
type BalancerProbe struct {
	UpstreamFile    string // nginx: the upstream file opsui writes
	Socket, Backend string // HAProxy: the admin socket and the backend
}

// BalancerView is what a probed balancer has out of rotation.
type BalancerView struct {
	Kind string // "nginx" or "haproxy"
	// Down maps each backend out of rotation (nginx's address:port,
	// HAProxy's server name) to opsui's mark, "" when an operator took it
	// out (HAProxy keeps no marks: there every mark is "").
	Down map[string]string
	// Err says why the state could not be read.
	Err string
}

// BalancerProbeFor returns how to read host h's balancer state, from its
// lb role's options as the deploy uses them (preset, upstream_file,
// admin_socket, backend), or nil when it is no balancer opsui can read.
func BalancerProbeFor(f *inventory.Fleet, h inventory.Host) *BalancerProbe {
	if !h.HasRole("lb") {
		return nil
	}
	set := f.SettingsFor(h, "lb")
	o := set.Options
	switch preset, _ := inventory.RolePreset("lb", set); {
	case preset == inventory.BalancerNginx && o["upstream_file"] != "":
		return &BalancerProbe{UpstreamFile: o["upstream_file"]}
	case preset == inventory.BalancerHAProxy && o["admin_socket"] != "":
		backend := o["backend"]
		if backend == "" && len(f.Apps) == 1 {
			backend = f.Apps[0].Name
		}
		if backend == "" {
			return nil
		}
		return &BalancerProbe{Socket: o["admin_socket"], Backend: backend}
	}
	return nil
}

// balancerSection is the probe script's command that prints the
// balancer's state, or the lb-error section when it cannot.
func balancerSection(b *BalancerProbe) (name, cmd string) {
	fail := "echo " + Quote(probeMark+"lb-error")
	if b.UpstreamFile != "" {
		return "lb-nginx", fmt.Sprintf("if [ -r %[1]s ]; then cat -- %[1]s; else %[2]s; fi", Quote(b.UpstreamFile), fail)
	}
	q := "show servers state " + b.Backend
	py := `import socket,sys
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall((sys.argv[2]+"\n").encode())
while True:
  d=s.recv(65536)
  if not d: break
  sys.stdout.write(d.decode())`
	return "lb-haproxy", fmt.Sprintf(`{ if command -v socat >/dev/null 2>&1; then printf '%%s\n' %[1]s | socat stdio %[2]s; `+
		`else python3 -c %[3]s %[4]s %[1]s; fi; } 2>/dev/null || %[5]s`,
		Quote(q), Quote("unix-connect:"+b.Socket), Quote(py), Quote(b.Socket), fail)
}

// parseBalancer reads the balancer sections of a probe's output.
func parseBalancer(sections map[string][]string, b *BalancerProbe) *BalancerView {
	if b == nil {
		return nil
	}
	v := &BalancerView{Kind: "nginx", Down: map[string]string{}}
	if b.UpstreamFile == "" {
		v.Kind = "haproxy"
	}
	if _, ok := sections["lb-error"]; ok {
		v.Err = "cannot read the balancer's state"
		return v
	}
	text := strings.Join(sections["lb-"+v.Kind], "\n")
	if v.Kind == "nginx" {
		v.Down = ParseUpstream(text)
	} else {
		v.Down = ParseHAProxyState(text, b.Backend)
	}
	for k, mark := range v.Down {
		v.Down[k] = Visible(mark)
	}
	return v
}

// ParseUpstream returns the servers an nginx upstream file has down, by
// address, each with opsui's drain mark ("" when an operator marked it).
func ParseUpstream(text string) map[string]string {
	down := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		decl, comment, _ := strings.Cut(line, "#")
		f := strings.Fields(strings.TrimSuffix(strings.TrimSpace(decl), ";"))
		if len(f) < 3 || f[0] != "server" || f[len(f)-1] != "down" {
			continue
		}
		mark := ""
		if c := "#" + comment; strings.HasPrefix(c, DrainMark) {
			mark = strings.TrimSpace(c)
		}
		down[f[1]] = mark
	}
	return down
}

// ParseHAProxyState returns the servers of backend that "show servers
// state" reports in maintenance or drain (a non-zero srv_admin_state), by
// name; HAProxy has no room for a mark, so each mark is "".
func ParseHAProxyState(text, backend string) map[string]string {
	down := map[string]string{}
	for line := range strings.SplitSeq(text, "\n") {
		// be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
		if f := strings.Fields(line); len(f) > 6 && f[1] == backend && f[6] != "0" {
			down[f[3]] = ""
		}
	}
	return down
}
