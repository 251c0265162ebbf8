package ui

import (
	"context"
	"fmt"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
)

// PresenceFunc watches the runs other operators have under way
// (ops.Service.WatchPresence): a new list on the channel at each change,
// the channel closed when ctx ends; poll 0 is the service's default.
type PresenceFunc func(ctx context.Context, poll time.Duration) <-chan []ops.Presence

// presenceState is what the header knows of teammates' runs.
type presenceState struct {
	watch PresenceFunc
	runs  []ops.Presence
}

// presenceStartedMsg carries the channel of a watch just started;
// presenceMsg one update from it.
type (
	presenceStartedMsg struct{ ch <-chan []ops.Presence }
	presenceMsg        struct {
		ch     <-chan []ops.Presence
		runs   []ops.Presence
		closed bool
	}
)

// presenceInit starts the watch, for the console's life, inside a tea.Cmd.
func (a App) presenceInit() tea.Cmd {
	watch, life := a.presence.watch, a.flows.life
	if watch == nil {
		return nil
	}
	return func() tea.Msg { return presenceStartedMsg{ch: watch(life, 0)} }
}

// nextPresence waits for the watch's next update.
func nextPresence(ch <-chan []ops.Presence) tea.Cmd {
	return func() tea.Msg {
		runs, ok := <-ch
		return presenceMsg{ch: ch, runs: runs, closed: !ok}
	}
}

// presenceUpdate keeps the newest list and waits for the next.
func (a App) presenceUpdate(msg tea.Msg) (tea.Model, tea.Cmd, bool) {
	switch msg := msg.(type) {
	case presenceStartedMsg:
		return a, nextPresence(msg.ch), true
	case presenceMsg:
		if msg.closed {
			a.presence.runs = nil
			return a, nil, true
		}
		a.presence.runs = msg.runs
		return a, nextPresence(msg.ch), true
	}
	return nil, nil, false
}

// presenceHeader is the header's part about teammates' runs: the newest
// ("alice@lap: deploy shop → production (1/4 hosts)") and how many more.
func (a App) presenceHeader() []string {
	runs := a.presence.runs
	if len(runs) == 0 {
		return nil
	}
	s := runs[0].String()
	if len(runs) > 1 {
		s += fmt.Sprintf(" +%d more", len(runs)-1)
	}
	return []string{a.ctx.Styles.Warn.Render(s)}
}
