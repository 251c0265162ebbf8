package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
	runview "github.com/opsui/opsui/ui/run"
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

// lastRunsTTL is how long fetched runs are shown before being read again.
const lastRunsTTL = 15 * time.Second

// LastRunsMsg carries a host's last runs, read for the detail pane.
type LastRunsMsg struct {
	Host string
	Runs []ops.HostRun
	Err  error
	At   time.Time
}

// Detail is the focused host's pane beside the fleet: its status, its
// last runs (read in a command, kept a while), its output in the
// session's last run, then its facts. Wide terminals always show it,
// narrow ones when toggled. The root says which host it shows (For).
type Detail struct {
	ctx    *common.Context
	status *Board
	// lastRunsFn reads a host's last runs; nil: the pane shows none.
	lastRunsFn func(ctx context.Context, host string) ([]ops.HostRun, error)
	lastRuns   map[string]LastRunsMsg // by host
	toggled    bool                   // shown on a narrow terminal
	w, h       int                    // 0 wide when it is not shown
	// What it shows now.
	fleet *inventory.Fleet
	host  inventory.Host
	feed  *runview.Feed
	// drawn is shared by the copies of the pane (the root's Update copies
	// it); only the root's View, one at a time, writes it.
	drawn *drawnPane
}

// NewDetail is the pane of the hosts the root shows it, reading their
// probes on status and their last runs with lastRuns (nil: none).
func NewDetail(ctx *common.Context, status *Board, lastRuns func(context.Context, string) ([]ops.HostRun, error)) Detail {
	return Detail{ctx: ctx, status: status, lastRunsFn: lastRuns, lastRuns: map[string]LastRunsMsg{}, drawn: &drawnPane{}}
}

// Init: the pane reads runs when it shows a host (fetch).
func (d Detail) Init() tea.Cmd { return nil }

// Update keeps the last runs read; the root shows a failed read's error
// as a toast.
func (d Detail) Update(msg tea.Msg) (Detail, tea.Cmd) {
	if msg, ok := msg.(LastRunsMsg); ok {
		d.lastRuns[msg.Host] = msg
	}
	return d, nil
}

// SetSize sets the pane's size, its width being Width's answer.
func (d *Detail) SetSize(w, h int) { d.w, d.h = w, h }

// KeyMap: the pane has no keys of its own; the fleet's toggle it.
func (d Detail) KeyMap() []key.Binding { return nil }

// Toggle shows or hides the pane on a narrow terminal.
func (d *Detail) Toggle() { d.toggled = !d.toggled }

// Width is the pane's width on a terminal termW wide, 0 when it is not
// shown. Wide terminals always show it; narrow ones when toggled.
func (d Detail) Width(termW int) int {
	switch {
	case termW >= 120:
		return termW * 2 / 5
	case d.toggled:
		return termW
	}
	return 0
}

// ForgetRuns drops the runs read: a run just ended is in its hosts'
// history now.
func (d Detail) ForgetRuns() { clear(d.lastRuns) }

// For is the pane showing host h of f, with its output in feed's run (nil:
// none yet).
func (d Detail) For(f *inventory.Fleet, h inventory.Host, feed *runview.Feed) Detail {
	d.fleet, d.host, d.feed = f, h, feed
	return d
}

// Fetch reads host's last runs when the pane is shown (shown) and what it
// has is missing or old.
func (d Detail) Fetch(host string, shown bool) tea.Cmd {
	if d.lastRunsFn == nil || host == "" || !shown {
		return nil
	}
	if e, ok := d.lastRuns[host]; ok && time.Since(e.At) < lastRunsTTL {
		return nil
	}
	d.lastRuns[host] = LastRunsMsg{Host: host, At: time.Now()} // no second fetch while this one runs
	fn := d.lastRunsFn
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		runs, err := fn(ctx, host)
		if err != nil {
			err = fmt.Errorf("last runs of %s: %w", host, err)
		}
		return LastRunsMsg{Host: host, Runs: runs, Err: err, At: time.Now()}
	}
}

// View draws the pane in its border.
func (d Detail) View() string { return d.Block().String() }

// Block is View split into measured lines, for the root's layout. The
// bordered pane is drawn again only when its content or size changed:
// most frames (a probe of another host, a key) leave it as it was.
func (d Detail) Block() common.Block {
	w, h := d.w, d.h
	content := d.content(w - 4)
	if lines := strings.Split(content, "\n"); len(lines) > h-2 {
		content = strings.Join(lines[:max(0, h-2)], "\n") // keep the bottom border
	}
	if c := d.drawn; c != nil && c.block.Lines != nil && c.content == content && c.w == w && c.h == h {
		return c.block
	}
	// lipgloss v2 sizes include the border and padding: 4 columns here.
	block := common.NewBlock(d.ctx.Styles.Pane.Width(w).Height(h).MaxHeight(h).Render(content))
	if d.drawn != nil {
		*d.drawn = drawnPane{content: content, w: w, h: h, block: block}
	}
	return block
}

// drawnPane is the pane last drawn, and what it was drawn from.
type drawnPane struct {
	content string
	w, h    int
	block   common.Block
}

// content is the host's status, its last runs, its output in the last run
// of this session, then its facts.
func (d Detail) content(width int) string {
	h := d.host
	out := hostDetail(d.ctx, d.fleet, h, width)
	if h.Name == "" {
		return out
	}
	// The title, then what changes (status, runs, output), then the facts.
	title, facts, _ := strings.Cut(out, "\n")
	var b strings.Builder
	b.WriteString(title)
	if d.status.enabled {
		b.WriteString("\n" + statusDetail(d.ctx, d.status, h.Name, width))
	}
	if env := envDriftDetail(d.ctx, d.status, h.Name, width); env != "" {
		b.WriteString("\n\n" + env)
	}
	if d.lastRunsFn != nil {
		b.WriteString("\n\n" + runsDetail(d.ctx, d.lastRuns[h.Name], width))
	}
	if f := d.feed; f != nil {
		if lines := f.LastLines(h.Name, 5); len(lines) > 0 {
			b.WriteString("\n\n" + d.ctx.Styles.Header.Render(fmt.Sprintf("output of run %d", f.ID())))
			for _, l := range lines {
				b.WriteString("\n" + common.Clip(l, width))
			}
		}
	}
	if facts != "" {
		b.WriteString("\n\n" + d.ctx.Styles.Header.Render("host") + "\n" + facts)
	}
	return b.String()
}

// statusDetail is the detail pane's part about the host's newest probe.
func statusDetail(ctx *common.Context, b *Board, host string, width int) string {
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
func runsDetail(ctx *common.Context, e LastRunsMsg, width int) string {
	st := ctx.Styles
	var out strings.Builder
	out.WriteString(st.Header.Render("last runs"))
	switch {
	case e.Err != nil:
		out.WriteString("\n" + st.Error.Render(common.Clip(e.Err.Error(), width)))
	case e.Runs == nil && e.At.IsZero():
		out.WriteString("\n" + st.Muted.Render("…"))
	case len(e.Runs) == 0:
		out.WriteString("\n" + st.Muted.Render("none recorded"))
	}
	for _, hr := range e.Runs {
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
