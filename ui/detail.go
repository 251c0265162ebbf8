package ui

import (
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// hostDetail renders every fact about one host, with its effective
// per-role settings, for the detail pane.
func hostDetail(ctx *common.Context, f *inventory.Fleet, h inventory.Host, width int) string {
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
		fmt.Fprintf(&b, "%s %s\n", st.Muted.Render(fmt.Sprintf("%-14s", label)), common.Clip(value, max(10, width-15)))
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

// isDetailToggle reports whether msg is the key that shows the detail pane.
func isDetailToggle(msg tea.Msg, keys KeyMap) bool {
	km, ok := msg.(tea.KeyPressMsg)
	return ok && key.Matches(km, keys.Detail)
}

// detail renders the focused host's pane: its facts, its status, its last
// runs and its output in the last run of this session.
func (a App) detail(width int) string {
	h := a.fleet.Focused()
	out := hostDetail(a.ctx, a.fleet.fleet, h, width)
	if h.Name == "" {
		return out
	}
	// The title, then what changes (status, runs, output), then the facts.
	title, facts, _ := strings.Cut(out, "\n")
	var b strings.Builder
	b.WriteString(title)
	if a.status.enabled {
		b.WriteString("\n" + statusDetail(a.ctx, a.status, h.Name, width))
	}
	if a.lastRunsFn != nil {
		b.WriteString("\n\n" + runsDetail(a.ctx, a.lastRuns[h.Name], width))
	}
	if f := a.run.Feed(); f != nil {
		if lines := f.LastLines(h.Name, 5); len(lines) > 0 {
			b.WriteString("\n\n" + a.ctx.Styles.Header.Render(fmt.Sprintf("output of run %d", f.ID())))
			for _, l := range lines {
				b.WriteString("\n" + common.Clip(l, width))
			}
		}
	}
	if facts != "" {
		b.WriteString("\n\n" + a.ctx.Styles.Header.Render("host") + "\n" + facts)
	}
	return b.String()
}

// statusDetail is the detail pane's part about the host's newest probe.
func statusDetail(ctx *common.Context, b *statusBoard, host string, width int) string {
	st := ctx.Styles
	var out strings.Builder
	out.WriteString(st.Header.Render("status"))
	field := func(label, value string) {
		if value != "" {
			fmt.Fprintf(&out, "\n%s %s", st.Muted.Render(fmt.Sprintf("%-14s", label)), common.Clip(value, max(10, width-15)))
		}
	}
	s := b.state(host)
	if s == nil {
		field("state", "not probed yet")
		return out.String()
	}
	now := b.now()
	p := s.probe
	if p.Reachable {
		field("state", "up")
	} else {
		field("state", st.Error.Render("down: "+string(p.Class)))
		field("since", sinceText(s.downSince, now))
		if p.Err != nil {
			field("error", remote.HostCause(p.Err).Error())
		}
	}
	field("probed", shortAge(now.Sub(p.At))+" ago")
	u := s.lastUp
	if u.At.IsZero() {
		return out.String()
	}
	if !p.Reachable {
		field("last up", shortAge(now.Sub(u.At))+" ago")
	}
	field("round trip", shortDuration(u.RTT))
	field("load", fmt.Sprintf("%s %s %s", loadText(u.Load1), loadText(u.Load5), loadText(u.Load15)))
	field("memory used", percent(u.MemUsedPct))
	field("disk used", percent(u.DiskUsedPct))
	if u.Release == "" {
		field("release", "none (no current symlink)")
	} else {
		field("release", u.Release+" ("+shortAge(u.ReleaseAge+now.Sub(u.At))+" old)")
		field("commit", u.Commit)
	}
	if b.drift[host] {
		field("drift", st.Warn.Render("the rest of its group runs "+orNone(b.majority[host])))
	}
	if t := b.drainText(host); t != "" {
		field("drained", st.Warn.Render(t))
	}
	field("health", string(u.Health))
	field("check", u.Check)
	field("check said", u.HealthDetail)
	return out.String()
}

func orNone(s string) string {
	if s == "" {
		return "no release"
	}
	return s
}

// runsDetail lists the host's last runs.
func runsDetail(ctx *common.Context, e lastRunsMsg, width int) string {
	st := ctx.Styles
	var out strings.Builder
	out.WriteString(st.Header.Render("last runs"))
	switch {
	case e.err != nil:
		out.WriteString("\n" + st.Error.Render(common.Clip(e.err.Error(), width)))
	case e.runs == nil && e.at.IsZero():
		out.WriteString("\n" + st.Muted.Render("…"))
	case len(e.runs) == 0:
		out.WriteString("\n" + st.Muted.Render("none recorded"))
	}
	for _, hr := range e.runs {
		r, h := hr.Run, hr.Host
		what := r.Command
		if what == "" {
			what = r.Kind
		}
		status := h.Status.String()
		if h.ErrorClass != "" {
			status += ": " + h.ErrorClass
		}
		line := fmt.Sprintf("#%d %s %s · %s", r.ID, r.StartedAt.Time().Local().Format("Jan 2 15:04"), status, what)
		style := st.Muted
		if h.Status.Failed() {
			style = st.Error
		}
		out.WriteString("\n" + style.Render(common.Clip(line, width)))
	}
	return out.String()
}
