package ui

import (
	"slices"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ui/common"
	flowsview "github.com/opsui/opsui/ui/flows"
)

// The : command palette (k9s's :): every action and view by name, matched
// fuzzily as it is typed, with words after the name for its subject
// (":deploy production", ":logs web", ":shell web1"), and the lines run
// before a keystroke away (issue 18, item 15).

// paletteShown is how many matches the palette lists.
const paletteShown = 8

// paletteHistoryMax is how many run lines the palette remembers.
const paletteHistoryMax = 50

// palette is the palette's state: the line typed, the match under the
// cursor, and the lines run this session, newest last.
type palette struct {
	input   textinput.Model
	cursor  int
	history []string
	// hist is the history line shown by ctrl+p/ctrl+n, len(history) when none.
	hist int
}

func newPalette() palette {
	ti := textinput.New()
	ti.Prompt = ":"
	ti.Placeholder = "deploy, rollback, logs web, shell web1, runs… (tab completes)"
	return palette{input: ti}
}

// paletteEntry is one thing the palette can do: its name, what the words
// after it are, the key it is the same as (whose reason it shares when
// it does nothing now), and what it does with those words.
type paletteEntry struct {
	name, args, desc string
	b                key.Binding
	run              func(a App, args []string) (tea.Model, tea.Cmd)
}

// paletteEntries is every entry, in the order an empty line lists them.
func (a App) paletteEntries() []paletteEntry {
	k := a.keys
	byKey := func(b key.Binding) func(App, []string) (tea.Model, tea.Cmd) {
		return func(a App, _ []string) (tea.Model, tea.Cmd) { return a.runRootAction(b) }
	}
	flow := func(b key.Binding, open func(*flowsview.Env, string) (flowsview.Flow, tea.Cmd)) func(App, []string) (tea.Model, tea.Cmd) {
		return func(a App, args []string) (tea.Model, tea.Cmd) { return a.openFlowOn(args, a.paletteOff(b), open) }
	}
	entries := []paletteEntry{
		{"deploy", "[environment]", "the deploy wizard", k.Deploy, flow(k.Deploy, flowsview.OpenDeploy)},
		{"rollback", "[environment]", "roll back a release", k.Rollback, flow(k.Rollback, flowsview.OpenRollback)},
		{"migrate", "[environment]", "run migrations", k.Migrate, flow(k.Migrate, flowsview.OpenMigrate)},
		{"flush", "[environment]", "flush caches", k.Flush, flow(k.Flush, flowsview.OpenFlush)},
		{"releases", "[environment]", "release history", k.Releases, flow(k.Releases, flowsview.OpenReleases)},
		{"restart", "[environment]", "restart the app servers on their release", key.Binding{}, App.paletteRestart}, // ui/restart.go
		{"logs", "[host|role|environment…]", "follow logs", k.Logs, App.paletteLogs},
		{"run", "[command]", "run a command on the selection", k.Exec, App.paletteRun},
		{"shell", "[host]", "shell on a host (ssh)", k.Shell, App.paletteShell},
		{"forward", "host port [local port]", "forward a local port to a host's (a database)", key.Binding{}, App.paletteForward},
		{"runs", "", "past runs", k.PastRuns, byKey(k.PastRuns)},
		{"last", "", "the running flow or the last run", k.LastRun, byKey(k.LastRun)},
		{"refresh", "", "probe the fleet now", k.Refresh, byKey(k.Refresh)},
		{"help", "", "the keys of the fleet", k.Help, byKey(k.Help)},
		{"quit", "", "quit opsui", k.Quit, App.paletteQuit},
	}
	return append(entries, a.runbookEntries(entries)...) // ui/runbook.go
}

// paletteOff is why the entry of key b does nothing now, "" when it acts.
func (a App) paletteOff(b key.Binding) string {
	a.mode = modeFleet // as the entry runs: once the palette has closed
	if a.backgroundRunning() && a.opensFlow(b) {
		return "a " + a.backgroundKind() + " runs out of sight: " + common.KeyName(a.keys.LastRun) + " returns to it"
	}
	for _, act := range a.fleetActions() {
		if sameKeys(b, act.b) {
			if r := a.reason(act); r != "" {
				return r
			}
			if act.skip != nil && act.skip(a) {
				return "not available here"
			}
		}
	}
	return ""
}

// runRootAction runs the fleet's action of key b, or says why it does
// nothing now.
func (a App) runRootAction(b key.Binding) (tea.Model, tea.Cmd) {
	if r := a.paletteOff(b); r != "" {
		a.notice = r
		return a, nil
	}
	for _, act := range a.fleetActions() {
		if sameKeys(b, act.b) {
			return act.run(a)
		}
	}
	return a, nil
}

// envArg is the environment named by args, if they name one.
func (a App) envArg(args []string) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	for _, e := range a.fleet.Fleet().Environments {
		if strings.EqualFold(e.Name, args[0]) {
			return e.Name, true
		}
	}
	return "", false
}

// hostsNamed are the hosts args name: each word a host, a role or an
// environment; false when a word names none.
func (a App) hostsNamed(args []string) ([]inventory.Host, string, bool) {
	var out []inventory.Host
	for _, w := range args {
		n := len(out)
		for _, h := range a.fleet.Fleet().Hosts {
			if (strings.EqualFold(h.Name, w) || strings.EqualFold(h.Env, w) || slices.Contains(h.Roles, w)) &&
				!slices.ContainsFunc(out, func(o inventory.Host) bool { return o.Name == h.Name }) {
				out = append(out, h)
			}
		}
		if len(out) == n {
			return nil, w, false
		}
	}
	return out, "", true
}

func (a App) paletteLogs(args []string) (tea.Model, tea.Cmd) {
	if r := a.paletteOff(a.keys.Logs); r != "" && (len(args) == 0 || a.logs.fn == nil) {
		a.notice = r
		return a, nil
	}
	if len(args) == 0 {
		return a.openLogs()
	}
	hosts, bad, ok := a.hostsNamed(args)
	if !ok {
		a.notice = "no host, role or environment " + bad
		return a, nil
	}
	return a.openLogsOn(hosts)
}

func (a App) paletteShell(args []string) (tea.Model, tea.Cmd) {
	if r := a.paletteOff(a.keys.Shell); r != "" && (len(args) == 0 || a.shell == nil || a.ctx.ReadOnly) {
		a.notice = r
		return a, nil
	}
	if len(args) == 0 {
		return a.openShell()
	}
	for _, h := range a.fleet.Fleet().Hosts {
		if len(args) == 1 && strings.EqualFold(h.Name, args[0]) {
			return a.openShellOn(h)
		}
	}
	a.notice = "no host " + strings.Join(args, " ")
	return a, nil
}

// paletteRun opens the command line on the selection with the words
// typed: the command is read before it runs, as x does.
func (a App) paletteRun(args []string) (tea.Model, tea.Cmd) {
	if r := a.paletteOff(a.keys.Exec); r != "" {
		a.notice = r
		return a, nil
	}
	a.notice, a.mode = "", modeCommand
	a.cmdline.input.SetValue(strings.Join(args, " "))
	a.cmdline.input.CursorEnd()
	return a, a.cmdline.input.Focus()
}

// paletteQuit quits as q does: under a running flow out of sight it
// brings the flow back and asks.
func (a App) paletteQuit([]string) (tea.Model, tea.Cmd) {
	if a.backgroundRunning() {
		a.flowsBG, a.mode = false, modeFlow
		a.flows.quit.asking = true
		a.sizeFlow()
		return a, nil
	}
	return a, tea.Quit
}

// paletteForward forwards a local port to a host's loopback port:
// ":forward db1 5432" (local 5432) or ":forward db1 5432 15432".
func (a App) paletteForward(args []string) (tea.Model, tea.Cmd) {
	if a.forward == nil {
		a.notice = "port forwarding is not available here"
		return a, nil
	}
	if len(args) < 2 || len(args) > 3 {
		a.notice = "forward: say which host and port (:forward db1 5432 [local port])"
		return a, nil
	}
	ports := make([]int, 0, 2)
	for _, w := range args[1:] {
		p, err := strconv.Atoi(w)
		if err != nil || p < 1 || p > 65535 {
			a.notice = "forward: " + w + " is not a port (1-65535)"
			return a, nil
		}
		ports = append(ports, p)
	}
	if len(ports) == 1 {
		ports = append(ports, ports[0])
	}
	for _, h := range a.fleet.Fleet().Hosts {
		if strings.EqualFold(h.Name, args[0]) {
			return a.openForward(h, ports[0], ports[1])
		}
	}
	a.notice = "no host " + args[0]
	return a, nil
}

// openFlowOn opens a flow on the environment args name, else on the
// focused host's; off, when not empty, says why the flow cannot open now.
func (a App) openFlowOn(args []string, off string, open func(*flowsview.Env, string) (flowsview.Flow, tea.Cmd)) (tea.Model, tea.Cmd) {
	if off != "" {
		a.notice = off
		return a, nil
	}
	env := a.fleet.Focused().Env
	if e, ok := a.envArg(args); ok {
		env = e
	} else if len(args) > 0 {
		a.notice = "no environment " + strings.Join(args, " ")
		return a, nil
	}
	a.notice = ""
	return a.show(open(a.flowEnv(), env))
}
