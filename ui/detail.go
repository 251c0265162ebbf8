package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// hostDetail renders every fact about one host, with its effective
// per-role settings, for the detail pane.
func hostDetail(ctx *Context, f *inventory.Fleet, h inventory.Host, width int) string {
	if h.Name == "" {
		return ctx.Styles.Muted.Render("no host")
	}
	st := ctx.Styles
	var b strings.Builder
	b.WriteString(st.Title.Render(h.Name))
	b.WriteByte('\n')
	field := func(label, value string) {
		if value == "" {
			return
		}
		fmt.Fprintf(&b, "%s %s\n", st.Muted.Render(fmt.Sprintf("%-14s", label)), clip(value, max(10, width-15)))
	}
	port := "ssh default"
	if h.Port != 0 {
		port = fmt.Sprint(h.Port)
	}
	user := h.User
	if user == "" {
		user = "ssh default"
	}
	env := h.Env
	if e, ok := f.Environment(env); ok && e.Protected {
		env += " " + st.Protected.Render("protected")
	}
	field("address", h.Address)
	field("port", port)
	field("user", user)
	field("environment", env)
	field("roles", strings.Join(h.Roles, ", "))
	field("tags", strings.Join(h.Tags, ", "))
	field("deploy to", h.DeployTo)
	field("identity file", h.IdentityFile)
	field("proxy jump", h.ProxyJump)
	if h.ForwardAgent {
		field("agent", "forwarded")
	}
	if h.Unassigned() {
		b.WriteString(st.Warn.Render("unassigned: no environment or role yet") + "\n")
	}
	roles := slices.Clone(h.Roles)
	for _, role := range roles {
		s := f.SettingsFor(h, role)
		if s.IsZero() {
			continue
		}
		b.WriteString("\n" + st.Header.Render(role) + "\n")
		field("service", s.Service)
		field("health", s.HealthURL)
		field("reload", s.Reload)
		for _, l := range s.Logs {
			field("log", l)
		}
		keys := make([]string, 0, len(s.Options))
		for k := range s.Options {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			field(k, s.Options[k])
		}
	}
	return strings.TrimRight(b.String(), "\n")
}
