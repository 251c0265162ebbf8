package deploy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// UpstreamFile renders the nginx upstream block of app on balancer h:
// every web host of h's environment in rotation, as a deploy writes it
// when none is drained (nginxWriteScript), in the same order.
func UpstreamFile(f *inventory.Fleet, app inventory.App, h inventory.Host) string {
	set := f.SettingsFor(h, RoleLB)
	var b strings.Builder
	fmt.Fprintf(&b, "upstream %s {\n", orDefault(set.Options["upstream"], app.Name))
	for _, a := range upstreamAddrs(f, h.Env) {
		fmt.Fprintf(&b, "    server %s max_fails=0;\n", a)
	}
	b.WriteString("}\n")
	return b.String()
}

// upstreamAddrs are the backends of env's web hosts, by host name.
func upstreamAddrs(f *inventory.Fleet, env string) []string {
	webs := f.Select(inventory.Filter{Env: env, Role: "web"})
	slices.SortFunc(webs, func(a, b inventory.Host) int { return strings.Compare(a.Name, b.Name) })
	var out []string
	for _, w := range webs {
		out = append(out, backendOf(f, w).addr)
	}
	return out
}

// setupBalancer checks what balancer h's preset needs: nginx and the
// app's upstream file (written when missing, with every web host in
// rotation), or HAProxy and its admin socket.
func setupBalancer(b *strings.Builder, f *inventory.Fleet, app inventory.App, h inventory.Host) {
	q := remote.Quote
	set := f.SettingsFor(h, RoleLB)
	preset, why := inventory.RolePreset(RoleLB, set)
	switch preset {
	case lbNginx:
		file := set.Options["upstream_file"]
		if file == "" {
			b.WriteString("setup_human \"the lb role's preset is nginx but names no options.upstream_file, the file opsui writes the app's upstream block in: set it in the fleet file\"\n")
			return
		}
		name := orDefault(set.Options["upstream"], app.Name)
		addrs := upstreamAddrs(f, h.Env)
		var want []string
		for _, a := range addrs {
			want = append(want, "server "+a)
		}
		slices.Sort(want)
		fmt.Fprintf(b, `NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
if [ -x "$NGINX" ]; then setup_right "nginx: $("$NGINX" -v 2>&1 | sed 's/^nginx version: //')"
else setup_human "nginx is not installed (the lb role's preset is nginx: %[1]s)" "sudo apt-get install nginx"; fi
UF=%[2]s
if [ -f "$UF" ] && ! setup_same "$UF" %[3]s && [ "$(grep -o 'server [^ ;]*' "$UF" | LC_ALL=C sort)" = %[4]s ]; then
  setup_right "nginx upstream %[5]s in $UF names the app's %[6]d backend(s), some marked down (opsui lb restore puts back what opsui drained)"
else
  setup_file "nginx upstream %[5]s" "$UF" %[3]s %[5]s.upstream.conf
fi
`, why, q(file), q(UpstreamFile(f, app, h)), q(strings.Join(want, "\n")), name, len(addrs))
	case lbHAProxy:
		sock := set.Options["admin_socket"]
		if sock == "" {
			b.WriteString("setup_human \"the lb role's preset is haproxy but names no options.admin_socket, HAProxy's runtime API socket: set it in the fleet file\"\n")
			return
		}
		fmt.Fprintf(b, `if command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ]; then setup_right "haproxy is installed"
else setup_human "HAProxy is not installed (the lb role's preset is haproxy)" "sudo apt-get install haproxy"; fi
S=%[1]s
if [ -S "$S" ] && [ -w "$S" ]; then setup_right "HAProxy's admin socket $S is there and $setup_me may write it"
else setup_human "HAProxy's admin socket $S is missing or not writable by $setup_me: in haproxy.cfg's global section put: stats socket $S mode 660 level admin user $setup_me" "sudoedit /etc/haproxy/haproxy.cfg" "sudo systemctl reload haproxy"; fi
`, q(sock))
	case lbCustom:
		b.WriteString("setup_right \"balancer: the lb role's own drain and enable commands; nothing to install\"\n")
	default:
		b.WriteString("setup_right \"balancer: opsui does not drain it (" + strings.ReplaceAll(why, `"`, "") + "); nothing to install\"\n")
	}
}
