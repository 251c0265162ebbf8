package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
	runview "github.com/opsui/opsui/ui/run"
)

// pastRunsLimit is how many runs the list shows.
const pastRunsLimit = 100

// Past runs messages: the list, and one run read to replay.
type (
	pastRunsMsg struct {
		req  int
		runs []store.Run
		err  error
	}
	recordedRunMsg struct {
		id   int64
		feed *runview.Feed // the replay, read off the UI's goroutine
		err  error
	}
)

// runsList is the past runs list: newest first, enter replays one.
type runsList struct {
	ctx           *common.Context
	keys          KeyMap
	runs          []store.Run
	err           error
	loading       bool
	req           int   // the newest request; older answers are dropped
	opening       int64 // the run being read, 0 when none
	cursor        int
	width, height int
	// list reads the newest runs, load one to replay; nil: no past runs.
	list func(ctx context.Context, limit int) ([]store.Run, error)
	load func(ctx context.Context, id int64) (ops.RecordedRun, error)
}

// openRunsList shows the list and reads the runs anew.
func (a App) openRunsList() (tea.Model, tea.Cmd) {
	a.notice = "" // fleetActions checked that it is available
	a.mode = modeRuns
	a.past.req++
	a.past.loading, a.past.err, a.past.opening = true, nil, 0
	req, list := a.past.req, a.past.list
	return a, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		runs, err := list(ctx, pastRunsLimit)
		if err != nil {
			err = fmt.Errorf("list past runs: %w", err)
		}
		return pastRunsMsg{req: req, runs: runs, err: err}
	}
}

// runsUpdate handles the list's messages; handled is false for others.
func (a App) runsUpdate(msg tea.Msg) (next App, cmd tea.Cmd, handled bool) {
	switch msg := msg.(type) {
	case pastRunsMsg:
		if msg.req == a.past.req {
			a.past.loading, a.past.runs, a.past.err = false, msg.runs, msg.err
			a.past.cursor = min(a.past.cursor, max(0, len(msg.runs)-1))
		}
		return a, nil, true
	case recordedRunMsg:
		if msg.id != a.past.opening {
			return a, nil, true // the user went elsewhere meanwhile
		}
		a.past.opening = 0
		if msg.err != nil {
			a.past.err = msg.err
			return a, nil, true
		}
		a.replay = runview.New(a.ctx, a.keys.runKeys(), msg.feed)
		a.replaying, a.mode = true, modeRun
		a.layout()
		return a, nil, true
	}
	return a, nil, false
}

// runsKey handles a key while the list has the keyboard.
func (a App) runsKey(km tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	p := &a.past
	switch {
	case a.helpKey(km):
	case key.Matches(km, a.keys.Back):
		a.mode, p.opening = modeFleet, 0
	case key.Matches(km, a.keys.Open):
		return a, a.openRun()
	default:
		var cmd tea.Cmd
		*p, cmd = p.Update(km)
		return a, cmd
	}
	return a, nil
}

// openRun reads the run under the cursor to replay it.
func (a *App) openRun() tea.Cmd {
	p := &a.past
	if p.loading || p.cursor >= len(p.runs) {
		return nil
	}
	id, load := p.runs[p.cursor].ID, a.past.load
	p.opening, p.err = id, nil
	return func() tea.Msg {
		feed, err := runview.LoadReplay(id, load)
		return recordedRunMsg{id: id, feed: feed, err: err}
	}
}

func (p *runsList) move(delta int) {
	p.cursor = max(0, min(p.cursor+delta, len(p.runs)-1))
}

// listStart is the first run drawn: the cursor stays in the window.
func (p runsList) listStart() int {
	h := max(1, p.height-1) // the title line
	return max(0, min(p.cursor-h/2, len(p.runs)-h))
}

// View draws the list in width x height.
func (p runsList) View() string {
	st := p.ctx.Styles
	var b strings.Builder
	title := "past runs"
	switch {
	case p.loading:
		title += " · loading…"
	case p.opening != 0:
		title += fmt.Sprintf(" · reading run #%d…", p.opening)
	}
	b.WriteString(st.Title.Render(common.Clip(title, p.width)))
	switch {
	case p.err != nil:
		b.WriteString("\n" + st.Error.Render(common.Clip(p.err.Error(), p.width)))
		return b.String()
	case !p.loading && len(p.runs) == 0:
		b.WriteString("\n" + st.Muted.Render(common.Clip("no run recorded yet", p.width)))
		return b.String()
	}
	start := p.listStart()
	for i := start; i < len(p.runs) && i-start < p.height-1; i++ {
		line := common.Clip(pastRunLine(p.runs[i]), p.width)
		switch {
		case i == p.cursor:
			line = st.Cursor.Render(common.PadRight(line, p.width))
		case p.runs[i].Result.Failed():
			line = st.Error.Render(line)
		}
		b.WriteString("\n" + line)
	}
	return b.String()
}

// pastRunLine is one run of the list.
func pastRunLine(r store.Run) string {
	what := r.Command
	if what == "" {
		what = r.Kind
	}
	took := "…"
	if r.Took() > 0 {
		took = common.Elapsed(r.Took())
	}
	line := fmt.Sprintf("#%-5d %s  %-8s %-11s %7s  %s · %s · %s", r.ID, r.StartedAt.Time().Local().Format("Jan _2 15:04:05"),
		r.Kind, r.Result, took, what, r.Summary, r.Operator)
	switch {
	case r.OutputPruned:
		line += " · output pruned"
	case r.OutputBytes > r.RecordedBytes:
		line += " · " + record.RecordedOf(r.RecordedBytes, r.OutputBytes)
	}
	return line
}
