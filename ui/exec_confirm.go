package ui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
)

// execConfirm is the question before an ad-hoc command runs on hosts of
// a protected environment: the command and the hosts shown, the
// environment's name typed, as a deploy asks. Whether a command only
// reads cannot be known, so every command on a protected host asks.
type execConfirm struct {
	active  bool
	command string
	hosts   []inventory.Host
	want    string // what must be typed: the protected environments' names
	input   textinput.Model
	note    string
	staged  bool   // one host first (exec_staged.go)
	app     string // run in this app's release (exec_app.go)
}

// protectedEnvs names the protected environments among hosts' ones,
// sorted.
func protectedEnvs(f *inventory.Fleet, hosts []inventory.Host) []string {
	seen := map[string]bool{}
	var out []string
	for _, h := range hosts {
		if e, ok := f.Environment(h.Env); ok && e.Protected && !seen[e.Name] {
			seen[e.Name] = true
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out
}

func newExecConfirm(command string, hosts []inventory.Host, envs []string) (execConfirm, tea.Cmd) {
	c := execConfirm{active: true, command: command, hosts: hosts, want: strings.Join(envs, ",")}
	c.input = textinput.New()
	c.input.Prompt = "type " + c.want + " to confirm: "
	return c, c.input.Focus()
}

// typed reports whether what was typed is the name asked for; otherwise
// it sets the note that says so.
func (c *execConfirm) typed(back string) bool {
	if strings.TrimSpace(c.input.Value()) == c.want {
		return true
	}
	c.note = fmt.Sprintf("the name did not match: type %s exactly, or %s to leave", c.want, back)
	return false
}

func (c execConfirm) view(st common.Styles, w, h int) string {
	var b strings.Builder
	line := func(s string) { b.WriteString(common.ClipStyled(s, w) + "\n") }
	line(st.Warn.Render(fmt.Sprintf("Run on %d %s?", len(c.hosts), plural(len(c.hosts), "host", "hosts"))))
	line("")
	line(st.Muted.Render("command: ") + c.command)
	if c.app != "" {
		line(st.Muted.Render("in:      ") + c.app + "'s current release, with its shared/.env")
	}
	names := make([]string, len(c.hosts))
	for i, hst := range c.hosts {
		names[i] = hst.Name + " (" + hst.Env + ")"
	}
	// The hosts wrap onto the lines left; the last one says how many more
	// there are.
	rows := max(1, h-8)
	cur, fresh := "hosts: ", true
	for i, n := range names {
		if !fresh && lipgloss.Width(cur+n+", ") > w {
			if rows == 1 {
				cur += fmt.Sprintf("and %d more", len(names)-i)
				break
			}
			line(cur)
			rows--
			cur, fresh = "       ", true
		}
		cur += n
		fresh = false
		if i < len(names)-1 {
			cur += ", "
		}
	}
	line(cur)
	if c.staged && len(c.hosts) > 1 {
		line(fmt.Sprintf("one host first: %s alone, then the other %d only once you say so", c.hosts[0].Name, len(c.hosts)-1))
	}
	line("")
	what := c.want + " is a protected environment"
	if strings.Contains(c.want, ",") {
		what = strings.ReplaceAll(c.want, ",", ", ") + " are protected environments"
	}
	line(st.Protected.Render(what + ": a command there can change or break it."))
	line(c.input.View())
	if c.note != "" {
		line(st.Error.Render(c.note))
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
