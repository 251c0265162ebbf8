package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// MaintenanceFunc reads the apps in maintenance now
// (ops.Service.MaintenanceStates with onOnly), inside a tea.Cmd.
type MaintenanceFunc func(ctx context.Context) ([]store.Maintenance, error)

// maintPoll is how often the header reads the maintenance states: a
// teammate's `opsui maintenance on` shows within it.
const maintPoll = 5 * time.Second

// maintState is what the header knows of the apps in maintenance.
type maintState struct {
	read MaintenanceFunc
	on   []store.Maintenance
}

// maintMsg carries one reading.
type maintMsg struct {
	on  []store.Maintenance
	err error
}

// fetch reads the states after a wait (none when after is 0).
func (m maintState) fetch(after time.Duration) tea.Cmd {
	read := m.read
	if read == nil {
		return nil
	}
	do := func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		on, err := read(ctx)
		return maintMsg{on: on, err: err}
	}
	if after == 0 {
		return do
	}
	return tea.Tick(after, func(time.Time) tea.Msg { return do() })
}

// maintUpdate keeps the newest reading (a failed one keeps the last: the
// store may be away a moment) and schedules the next.
func (a App) maintUpdate(msg tea.Msg) (tea.Model, tea.Cmd, bool) {
	m, ok := msg.(maintMsg)
	if !ok {
		return a, nil, false
	}
	if m.err == nil {
		a.maint.on = m.on
	}
	return a, a.maint.fetch(maintPoll), true
}

// maintHeader is the header's part about maintenance, in the words of
// `opsui maintenance`: "MAINTENANCE shop/production since 03:12 (ann)",
// and how many more apps are in maintenance; short, without since when
// and by whom.
func (a App) maintHeader(short bool) []string {
	on := a.maint.on
	if len(on) == 0 {
		return nil
	}
	s := ops.MaintenanceLine(on[0], time.Now())
	if short {
		// The CLI's words up to the place: "MAINTENANCE shop/production".
		s, _, _ = strings.Cut(s, " since ")
	}
	if len(on) > 1 {
		s += fmt.Sprintf(" +%d more", len(on)-1)
	}
	return []string{a.ctx.Styles.Error.Render(s)}
}
