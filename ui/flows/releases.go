package flows

import (
	"context"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
	runview "github.com/opsui/opsui/ui/run"

	"github.com/opsui/opsui/ui/common"
)

// The releases view's messages.
type (
	releasesMsg struct {
		key   string
		list  []store.Release
		notes []string // SafetyNotes of list
		err   error
	}
	releaseRunMsg struct {
		runID int64
		feed  *runview.Feed
		err   error
	}
	compareMsg struct {
		a, b int64
		cmp  deploy.Comparison
		err  error
	}
)

// releasesView is the release history of an app in an environment,
// newest first: filter it, open a release to read every host's recorded
// output, mark two and compare them.
type releasesView struct {
	env       *Env
	picking   bool
	pick      targetPicker
	target    pickItem
	listKey   string
	list      []store.Release
	notes     []string // break-glass and migration-check lines, by release id
	err       error
	filter    textinput.Model
	filtering bool
	cursor    int
	col       int     // the first column after RELEASE shown (←/→)
	marked    []int64 // record ids, at most two, in marking order
	opening   int64   // the run being read
	replay    *runview.Model
	cmp       *compareView
	note      string
}

func newReleasesView(env *Env, focusedEnv string) (Flow, tea.Cmd) {
	v := &releasesView{env: env, picking: true, pick: newTargetPicker(env.fleet, false, focusedEnv)}
	v.filter = textinput.New()
	v.filter.Prompt = "/"
	v.filter.Placeholder = "commit, operator or text"
	if len(v.pick.items) == 1 {
		v.picking = false
		v.target = v.pick.items[0]
		return v, v.load()
	}
	return v, nil
}

func (v *releasesView) typing() bool { return v.filtering }

func (v *releasesView) load() tea.Cmd {
	app, env, fn, notesOf := v.target.app, v.target.env.Name, v.env.fns.Releases, v.env.fns.SafetyNotes
	k := app + "\x00" + env
	v.listKey, v.list, v.err, v.marked, v.cursor = k, nil, nil, nil, 0
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		rs, err := fn(ctx, app, env)
		if err != nil {
			err = fmt.Errorf("releases of %s on %s: %w", app, env, err)
		}
		var notes []string
		if err == nil && notesOf != nil {
			notes, _ = notesOf(ctx, rs) // the list shows without them
		}
		return releasesMsg{key: k, list: rs, notes: notes, err: err}
	}
}

// shown are the releases the filter lets through.
func (v *releasesView) shown() []store.Release {
	return filterBy(v.list, v.filter.Value(), func(r store.Release) string {
		return strings.Join([]string{r.ReleaseID, r.Commit, r.Branch, r.Subject, r.Operator, r.Result.String(), r.Result.Words(), r.Kind}, " ")
	})
}

// filterBy returns the items whose text contains query, ignoring case;
// all of them when query is blank.
func filterBy[T any](items []T, query string, text func(T) string) []T {
	q := strings.ToLower(strings.TrimSpace(query))
	if q == "" {
		return items
	}
	var out []T
	for _, it := range items {
		if strings.Contains(strings.ToLower(text(it)), q) {
			out = append(out, it)
		}
	}
	return out
}

func (v *releasesView) update(msg tea.Msg) (Flow, tea.Cmd) {
	switch msg := msg.(type) {
	case releasesMsg:
		if msg.key == v.listKey {
			v.list, v.notes, v.err = msg.list, msg.notes, msg.err
		}
		return v, nil
	case releaseRunMsg:
		if msg.runID != v.opening {
			return v, nil
		}
		v.opening = 0
		if msg.err != nil {
			v.note = msg.err.Error()
			return v, nil
		}
		rv := runview.New(v.env.ctx, v.env.keys.runKeys(), msg.feed)
		v.replay = &rv
		return v, nil
	case compareMsg:
		if v.cmp != nil && v.cmp.a.ID == msg.a && v.cmp.b.ID == msg.b {
			v.cmp.cmp, v.cmp.err, v.cmp.loaded = msg.cmp, msg.err, true
		}
		return v, nil
	case tea.KeyPressMsg:
		return v.key(msg)
	}
	if v.filtering {
		var cmd tea.Cmd
		v.filter, cmd = v.filter.Update(msg)
		return v, cmd
	}
	return v, nil
}

func (v *releasesView) key(km tea.KeyPressMsg) (Flow, tea.Cmd) {
	k := v.env.keys
	v.note = ""
	switch {
	case v.replay != nil:
		if key.Matches(km, k.Back) {
			v.replay = nil
			return v, nil
		}
		v.replay.SetSize(v.env.ctx.Width, max(1, v.env.ctx.Height-3))
		var cmd tea.Cmd
		*v.replay, cmd = v.replay.Update(km)
		return v, cmd
	case v.cmp != nil:
		switch {
		case key.Matches(km, k.Back):
			v.cmp = nil
		case key.Matches(km, k.Up):
			v.cmp.top = max(0, v.cmp.top-1)
		case key.Matches(km, k.Down):
			v.cmp.top++
		}
		return v, nil
	case v.filtering:
		switch {
		case key.Matches(km, k.Apply), key.Matches(km, k.Cancel):
			v.filtering = false
			v.filter.Blur()
			if key.Matches(km, k.Cancel) {
				v.filter.SetValue("")
			}
			return v, nil
		}
		var cmd tea.Cmd
		v.filter, cmd = v.filter.Update(km)
		v.cursor = max(0, min(v.cursor, len(v.shown())-1))
		return v, cmd
	case v.picking:
		switch {
		case key.Matches(km, k.Back):
			return nil, nil
		case key.Matches(km, k.Open):
			if it, ok := v.pick.chosen(); ok {
				v.target, v.picking = it, false
				return v, v.load()
			}
		}
		v.pick.key(km, k)
		return v, nil
	}
	shown := v.shown()
	switch {
	case key.Matches(km, k.Back):
		if v.filter.Value() != "" {
			v.filter.SetValue("")
			return v, nil
		}
		return nil, nil
	case key.Matches(km, k.PrevStep):
		v.picking = true
	case key.Matches(km, k.Filter):
		v.filtering = true
		return v, v.filter.Focus()
	case key.Matches(km, k.Up):
		v.cursor = max(0, v.cursor-1)
	case key.Matches(km, k.Down):
		v.cursor = max(0, min(len(shown)-1, v.cursor+1))
	case key.Matches(km, k.Run.Left):
		v.col = max(0, v.col-1)
	case key.Matches(km, k.Run.Right):
		v.col = min(len(relColumns)-1, v.col+1)
	case key.Matches(km, k.Top):
		v.cursor = 0
	case key.Matches(km, k.Bottom):
		v.cursor = max(0, len(shown)-1)
	case key.Matches(km, k.Mark) && v.cursor < len(shown):
		v.toggleMark(shown[v.cursor].ID)
	case key.Matches(km, k.Compare):
		return v, v.compare()
	case key.Matches(km, k.Open) && v.cursor < len(shown):
		return v, v.open(shown[v.cursor])
	}
	return v, nil
}

func (v *releasesView) toggleMark(id int64) {
	for i, m := range v.marked {
		if m == id {
			v.marked = append(v.marked[:i], v.marked[i+1:]...)
			return
		}
	}
	v.marked = append(v.marked, id)
	if len(v.marked) > 2 {
		v.marked = v.marked[1:] // the oldest mark gives way
	}
}

func (v *releasesView) isMarked(id int64) bool {
	for _, m := range v.marked {
		if m == id {
			return true
		}
	}
	return false
}

// open reads a release's run to show every host's recorded output.
func (v *releasesView) open(r store.Release) tea.Cmd {
	if r.RunID.Int64 == 0 || v.env.loadRun == nil {
		v.note = "no recorded run for release " + r.ReleaseID
		return nil
	}
	v.opening = r.RunID.Int64
	id, load := r.RunID.Int64, v.env.loadRun
	return func() tea.Msg {
		feed, err := runview.LoadReplay(id, load)
		return releaseRunMsg{runID: id, feed: feed, err: err}
	}
}

// compare opens the comparison of the two marked releases, older first.
func (v *releasesView) compare() tea.Cmd {
	if len(v.marked) != 2 || v.env.fns.Compare == nil {
		v.note = "mark two releases with " + common.KeyName(v.env.keys.Mark) + " first"
		return nil
	}
	var pair []store.Release
	for _, r := range v.list {
		if v.isMarked(r.ID) {
			pair = append(pair, r)
		}
	}
	if len(pair) != 2 {
		return nil
	}
	a, b := pair[1], pair[0] // the list is newest first
	v.cmp = &compareView{a: a, b: b}
	fn := v.env.fns.Compare
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := fn(ctx, a, b)
		if err != nil {
			err = fmt.Errorf("compare %s and %s: %w", a.ReleaseID, b.ReleaseID, err)
		}
		return compareMsg{a: a.ID, b: b.ID, cmp: c, err: err}
	}
}

func (v *releasesView) help() []key.Binding {
	k := v.env.keys
	switch {
	case v.replay != nil:
		return []key.Binding{k.Up, k.Down, k.NextFailed, common.WithDesc(k.Back, "back to the releases")}
	case v.cmp != nil:
		return []key.Binding{k.Up, k.Down, common.WithDesc(k.Back, "back to the releases")}
	case v.filtering:
		return []key.Binding{common.WithDesc(k.Apply, "apply the filter")}
	case v.picking:
		return []key.Binding{k.Up, k.Down, common.WithDesc(k.Open, "show its releases"), common.WithDesc(k.Back, "leave")}
	}
	return []key.Binding{k.Filter, common.WithDesc(k.Open, "hosts' output"), k.Mark, k.Compare, common.WithDesc(k.Run.Right, "more columns"),
		common.WithDesc(k.PrevStep, "other app/env"), common.WithDesc(k.Back, "leave")}
}
