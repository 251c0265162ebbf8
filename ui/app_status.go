package ui

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ui/common"
	fleetview "github.com/opsui/opsui/ui/fleet"
)

// statusUpdate handles the status panel's, the dialogs' and the detail
// pane's messages; handled is false for every other message.
func (a App) statusUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	switch msg := msg.(type) {
	case fleetview.TickMsg:
		return a, tea.Batch(a.status.StartRound(a.fleet.Fleet()), a.status.Tick(), a.status.FetchEnvDrift(a.fleet.Fleet())), true
	case fleetview.EnvDriftMsg:
		if err := a.status.ApplyEnvDrift(msg); err != nil {
			return a, a.addToast(err.Error()), true
		}
		if a.fleet.FilterValue() != "" {
			a.fleet.Rebuild()
		}
		return a, nil, true
	case fleetview.RoundMsg:
		a.status.Apply(msg, a.fleet.Fleet())
		for _, p := range msg.Probes {
			if hke := changedKey(p); hke != nil && !a.dialogs.warned[p.Host] {
				a.dialogs.warned[p.Host] = true
				hke.Host = p.Host
				a.dialogs.queue = append(a.dialogs.queue, dialog{changed: hke})
			}
		}
		if a.fleet.FilterValue() != "" {
			a.fleet.Rebuild() // a status filter follows the hosts' states
		}
		return a, a.toastMissingProbes(msg), true
	case askMsg:
		d, focus := newQuestionDialog(msg.q)
		a.dialogs.queue = append(a.dialogs.queue, d)
		return a, tea.Batch(focus, listenAsker(a.dialogs.asker)), true
	case fleetview.LastRunsMsg:
		a.detail, _ = a.detail.Update(msg)
		if msg.Err != nil {
			return a, a.addToast(msg.Err.Error()), true
		}
		return a, nil, true
	case tea.KeyPressMsg:
		if len(a.dialogs.queue) == 0 {
			return a, nil, false
		}
		d, done, cmd := a.dialogs.queue[0].update(a.dialogs.asker, *a.keys, msg)
		if done {
			a.dialogs.queue = a.dialogs.queue[1:]
			if len(a.dialogs.queue) > 0 && a.dialogs.queue[0].q != nil && a.dialogs.queue[0].q.hostKey == nil {
				cmd = tea.Batch(cmd, a.dialogs.queue[0].input.Focus())
			}
		} else {
			a.dialogs.queue[0] = d
		}
		return a, cmd, true
	}
	return a, nil, false
}

// fetchLastRuns reads the focused host's last runs when the detail pane
// shows it and what it has is missing or old.
func (a App) fetchLastRuns() tea.Cmd {
	return a.detail.Fetch(a.fleet.Focused().Name, a.detailWidth() > 0)
}

// statusHeader is the header's part about the fleet's state.
func (a App) statusHeader() []string {
	if !a.status.Enabled() || a.status.Probed() == 0 {
		return nil
	}
	st := a.ctx.Styles
	c := a.status.Counts()
	var parts []string
	if c.Checked() {
		parts = append(parts, st.OK.Render(fmt.Sprintf("%d healthy", c.Healthy)), countPart(st, c.Failing, "failing"))
		if c.HealthUnknown > 0 {
			parts = append(parts, st.Warn.Render(fmt.Sprintf("%d health unknown", c.HealthUnknown)))
		}
	}
	if c.Up > 0 || !c.Checked() {
		parts = append(parts, st.OK.Render(fmt.Sprintf("%d up", c.Up)))
	}
	if c.Down > 0 || c.Checked() {
		parts = append(parts, countPart(st, c.Down, "down"))
	}
	if c.Drained > 0 {
		parts = append(parts, st.Warn.Render(fmt.Sprintf("%d drained", c.Drained)))
	}
	// Release and env drift are one count: the hosts not like the rest.
	drift, env := c.AnyDrift, ""
	if c.EnvDrift > 0 {
		env = fmt.Sprintf(" (%d env)", c.EnvDrift)
	}
	switch {
	case drift == 1:
		parts = append(parts, st.Warn.Render("1 host drifts"+env))
	case drift > 1:
		parts = append(parts, st.Warn.Render(fmt.Sprintf("%d hosts drift%s", drift, env)))
	}
	return parts
}

// countPart is "n word", an alarm when n is not 0.
func countPart(st common.Styles, n int, word string) string {
	if n == 0 {
		return st.Muted.Render("0 " + word)
	}
	return st.Error.Render(fmt.Sprintf("%d %s", n, word))
}

// dialogView draws the first dialog centred in w x h.
func (a App) dialogView(w, h int) string {
	boxW := min(w, 76)
	box := a.ctx.Styles.Pane.BorderForeground(a.ctx.Theme.Warn).Width(boxW).Render(a.dialogs.queue[0].view(a.ctx, *a.keys, boxW-4))
	return lipgloss.Place(w, h, lipgloss.Center, lipgloss.Center, box)
}

// toastMissingProbes says when a round's chunk came back without a probe
// for some of its hosts: the prober failed, and the panel shows old facts.
func (a *App) toastMissingProbes(msg fleetview.RoundMsg) tea.Cmd {
	got := map[string]bool{}
	for _, p := range msg.Probes {
		got[p.Host] = true
	}
	var missing []string
	for _, h := range msg.Asked {
		if !got[h] {
			missing = append(missing, h)
		}
	}
	switch {
	case len(missing) == 0:
		return nil
	case len(missing) > 3:
		missing = append(missing[:3], "…")
	}
	return a.addToast(fmt.Sprintf("status probe round failed for %d hosts: %s", len(msg.Asked)-len(got), strings.Join(missing, ", ")))
}
