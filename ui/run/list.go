package run

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
)

// pastRunsLimit is how many runs the list shows.
const pastRunsLimit = 100

// Past runs messages: the list read, and one run read to replay. The
// root hands them to the list (Update) whatever is shown.
type (
	RunsReadMsg struct {
		req  int
		runs []store.Run
		err  error
	}
	RunReadMsg struct {
		id   int64
		feed *Feed // the replay, read off the UI's goroutine
		err  error
	}
)

// ReplayMsg carries a recorded run read to replay: the root shows it in a
// run view.
type ReplayMsg struct{ Feed *Feed }

// List is the past runs list: newest first, Open replays one.
type List struct {
	ctx           *common.Context
	keys          ListKeyMap
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
	// follow follows a teammate's run under way (follow.go); nil: replayed.
	follow FollowFunc
}

// Open shows the list: it reads the runs anew.
func (p List) Open() (List, tea.Cmd) {
	p.req++
	p.loading, p.err, p.opening = true, nil, 0
	req, list := p.req, p.list
	return p, func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		runs, err := list(ctx, pastRunsLimit)
		if err != nil {
			err = fmt.Errorf("list past runs: %w", err)
		}
		return RunsReadMsg{req: req, runs: runs, err: err}
	}
}

// Leave is the list left: a run still being read is not shown.
func (p List) Leave() List {
	p.opening = 0
	return p
}

// Cursor is the index of the run under the cursor.
func (p List) Cursor() int { return p.cursor }

// Available reports whether there are past runs to list and replay.
func (p List) Available() bool { return p.list != nil && p.load != nil }

// Load reads a recorded run (ui.Options.LoadRun), nil when there is none.
func (p List) Load() func(ctx context.Context, id int64) (ops.RecordedRun, error) { return p.load }

// update handles the list's own messages: the runs read, and a run read
// to replay (a ReplayMsg for the root when it is still wanted).
func (p List) update(msg tea.Msg) (List, tea.Cmd) {
	switch msg := msg.(type) {
	case RunsReadMsg:
		if msg.req == p.req {
			p.loading, p.runs, p.err = false, msg.runs, msg.err
			p.cursor = min(p.cursor, max(0, len(msg.runs)-1))
		}
	case RunReadMsg:
		if msg.id != p.opening {
			msg.feed.StopFollow()
			return p, nil // the user went elsewhere meanwhile
		}
		p.opening = 0
		if msg.err != nil {
			p.err = msg.err
			return p, nil
		}
		feed := msg.feed
		return p, func() tea.Msg { return ReplayMsg{Feed: feed} }
	}
	return p, nil
}

// openRun reads the run under the cursor to replay it.
func (p List) openRun() (List, tea.Cmd) {
	if p.loading || p.cursor >= len(p.runs) {
		return p, nil
	}
	id, load := p.runs[p.cursor].ID, p.load
	p.opening, p.err = id, nil
	if follow := p.follow; p.followable(p.runs[p.cursor]) {
		return p, func() tea.Msg {
			feed, err := LoadFollow(id, load, follow)
			return RunReadMsg{id: id, feed: feed, err: err}
		}
	}
	return p, func() tea.Msg {
		feed, err := LoadReplay(id, load)
		return RunReadMsg{id: id, feed: feed, err: err}
	}
}

func (p *List) move(delta int) {
	p.cursor = max(0, min(p.cursor+delta, len(p.runs)-1))
}

// listStart is the first run drawn: the cursor stays in the window.
func (p List) listStart() int {
	h := max(1, p.height-1) // the title line
	return max(0, min(p.cursor-h/2, len(p.runs)-h))
}

// NewList is the list of the runs list reads, each replayed as load reads
// it; nil functions: no past runs (Available).
func NewList(ctx *common.Context, keys ListKeyMap, list func(ctx context.Context, limit int) ([]store.Run, error),
	load func(ctx context.Context, id int64) (ops.RecordedRun, error)) List {
	return List{ctx: ctx, keys: keys, list: list, load: load}
}

// View draws the list in width x height.
func (p List) View() string {
	st := p.ctx.Styles
	var b strings.Builder
	title := "past runs"
	switch {
	case p.loading:
		title += " · loading…"
	case p.opening != 0:
		title += fmt.Sprintf(" · reading run %d…", p.opening)
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
		cur := "  " // "> " on the cursor row: seen without colours too
		if i == p.cursor {
			cur = "> "
		}
		line := common.Clip(cur+pastRunLine(p.runs[i]), p.width)
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
	// "run 17" as the run view, the CLI and the summary say it; the result
	// in words ("rolled back").
	line := fmt.Sprintf("run %-4d %s  %-8s %-11s %7s  %s · %s · %s", r.ID, r.StartedAt.Time().Local().Format("Jan _2 15:04:05"),
		r.Kind, r.Result.Words(), took, what, r.Summary, r.Operator)
	switch {
	case r.OutputPruned:
		line += " · output pruned"
	case r.OutputBytes > r.RecordedBytes:
		line += " · " + record.RecordedOf(r.RecordedBytes, r.OutputBytes)
	}
	return line
}
