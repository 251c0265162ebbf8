package ui

import (
	tea "charm.land/bubbletea/v2"

	runview "github.com/opsui/opsui/ui/run"
)

// followUpdate applies a followed teammate's run's update to the run
// view that shows it, and waits for the next; a followed run no longer
// shown stops being followed. handled is false for other messages.
func (a App) followUpdate(msg tea.Msg) (App, tea.Cmd, bool) {
	m, ok := msg.(runview.FollowMsg)
	if !ok {
		return a, nil, false
	}
	if a.replay.Feed() != m.Feed {
		m.Feed.StopFollow() // another run was opened since
		return a, nil, true
	}
	return a, runview.ApplyFollow(m), true
}
