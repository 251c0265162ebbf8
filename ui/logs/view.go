// Package logs is the console's logs view: many hosts' logs followed at
// once, merged or a pane per host, filtered, searched and saved. The root
// (ui.App) opens it, feeds it the engine's lines (Add) and routes its
// messages to it by id.
package logs

import (
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/ui/common"
)

// logsTick is how often the logs view takes the lines that arrived: the
// engine's goroutines only append to the buffer, and the UI gets about 20
// messages a second however fast the hosts write.
const logsTick = 50 * time.Millisecond

// TickMsg asks the logs view numbered ID to take new lines.
type TickMsg struct{ ID int }

// DoneMsg says the follow of logs view ID ended (Err: why, when it
// was not stopped).
type DoneMsg struct {
	ID  int
	Err error
}

func tickCmd(id int) tea.Cmd {
	return tea.Tick(logsTick, func(time.Time) tea.Msg { return TickMsg{ID: id} })
}

// Model follows many hosts' logs: merged (one stream, every line with
// its host and arrival time) or split (a pane per host). Its rows are the
// buffer's lines that pass the filter, kept in rings as big as the buffer,
// updated on each tick with the new lines only; a filter change rebuilds
// them once from the buffer.
type Model struct {
	ctx   *common.Context
	keys  KeyMap
	id    int
	buf   *logs.Buffer
	hosts []string

	seq      uint64                             // the last buffer line taken
	lost     uint64                             // lines the view fell too far behind to take
	scratch  []logs.Line                        // reused for each tick's new lines
	rows     *remote.Ring[logs.Line]            // merged: the lines passing the filter; nil without a filter (rowsLast)
	perHost  map[string]*remote.Ring[logs.Line] // split: the same per host
	pausedAt map[string]uint64                  // split: each pane's row count when paused
	held     map[string]bool                    // split: panes scrolled up, on hold (panes.go)
	// split: the search's match in the focused pane, a row number of host's ring
	matchHost string
	paneMatch uint64
	files     map[string]bool // the files seen: labels name them when several
	labelW    int             // the widest label seen

	filter, search logs.Filter
	input          textinput.Model
	typing         int // 0, typingFilter, typingSearch, typingSave or typingOverwrite
	savePath       string
	regex          bool // the pattern being typed is a regular expression

	split    bool
	wrap     bool
	paused   bool
	offset   int // merged: rows between the newest and the last one shown (paused)
	unseen   int // rows that arrived while paused
	focus    int // split: the focused pane
	showErrs bool
	match    int // the row searched to, counted from the newest (0: none); -1 when none
	note     string
	done     bool
	err      error

	width, height int
	// patternNote is the note of the last pattern that did not compile.
	patternNote string
	first       firstSeen // the errors panel's "first seen in" (firstseen.go)
}

const (
	typingFilter = 1 + iota
	typingSearch
	typingSave      // the path to save to (save.go)
	typingOverwrite // whether to replace the file there
)

func New(ctx *common.Context, keys KeyMap, id int, hosts []string, perHost int) *Model {
	buf := logs.NewBuffer(hosts, perHost)
	v := &Model{ctx: ctx, keys: keys, id: id, buf: buf, hosts: hosts,
		perHost:  map[string]*remote.Ring[logs.Line]{},
		pausedAt: map[string]uint64{}, held: map[string]bool{}, files: map[string]bool{}}
	for _, h := range hosts {
		v.perHost[h] = remote.NewRing[logs.Line](buf.PerHost())
	}
	ti := textinput.New()
	v.input = ti
	return v
}

// SetSize gives the view its body's size.
func (v *Model) SetSize(w, h int) {
	v.width, v.height = w, h
	v.input.SetWidth(max(10, w-20))
}

// take moves the lines that arrived since the last tick into the rows.
func (v *Model) take() {
	var lost uint64
	v.scratch, v.seq, lost = v.buf.Since(v.scratch[:0], v.seq)
	v.lost += lost
	for _, l := range v.scratch {
		v.add(l)
	}
	clear(v.scratch) // do not pin the lines' text
}

// add puts one line in the rows when it passes the filter.
func (v *Model) add(l logs.Line) {
	if l.Kind == logs.KindLine && !v.filter.Match(l.Text) {
		return
	}
	if !v.files[l.File] {
		v.files[l.File] = true
		v.labelW = 0 // labels change: measure again
	}
	if v.rows != nil {
		v.rows.Push(l)
	}
	if p := v.perHost[l.Host]; p != nil {
		p.Push(l)
	}
	if v.paused {
		v.unseen++
		v.offset++ // keep the same lines on screen
		if v.match > 0 {
			v.match++
		}
	}
}

// rowsLen returns how many rows the merged view has.
func (v *Model) rowsLen() int {
	if v.rows == nil {
		return v.buf.Held(v.seq)
	}
	return v.rows.Len()
}

// rowsLast returns the merged view's last n rows (all when n <= 0): without
// a filter, the buffer's lines up to the last one taken, not a copy kept
// by the view (the memory issue 8 bounds); with one, the lines that pass.
func (v *Model) rowsLast(n int) []logs.Line {
	if v.rows == nil {
		return v.buf.Window(nil, v.seq, n)
	}
	return v.rows.Last(n)
}

// refilter rebuilds the rows from the buffer after a filter change.
func (v *Model) refilter() {
	switch {
	case v.filter.Empty():
		v.rows = nil // the buffer's lines are the rows
	case v.rows == nil:
		v.rows = remote.NewRing[logs.Line](v.buf.PerHost() * max(1, len(v.hosts)))
	default:
		v.rows.Reset()
	}
	for _, p := range v.perHost {
		p.Reset()
	}
	all, last, _ := v.buf.Since(nil, 0)
	paused := v.paused
	v.paused = false
	for _, l := range all {
		v.add(l)
	}
	v.paused = paused
	v.seq, v.offset, v.unseen, v.match, v.paneMatch = last, 0, 0, 0, 0
	for h, r := range v.perHost {
		v.pausedAt[h] = r.Total()
	}
}

// Init is the first tick: the view takes what its buffer holds on each.
func (v *Model) Init() tea.Cmd { return tickCmd(v.id) }

// KeyMap is the view's footer keys: the moves and switches, or those of
// the filter, search or path being typed.
func (v *Model) KeyMap() []key.Binding {
	switch v.typing {
	case 0:
		return v.keys.ShortHelp()
	case typingSave, typingOverwrite:
		return v.keys.SaveHelp()
	}
	return v.keys.InputHelp()
}

// Update handles the view's keys and messages.
func (v *Model) Update(msg tea.Msg) (*Model, tea.Cmd) { return v, v.update(msg) }

func (v *Model) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case TickMsg:
		v.take()
		if v.done {
			return nil
		}
		return tea.Batch(tickCmd(v.id), v.tieCmd())
	case FirstSeenMsg:
		v.firstSeenDone(msg)
		return nil
	case tea.KeyPressMsg:
		if cmd, done := v.saveKey(msg); done {
			return cmd
		}
		if v.typing != 0 {
			return v.typeKey(msg)
		}
		return v.key(msg)
	case tea.PasteMsg:
		if v.typing != 0 {
			var cmd tea.Cmd
			v.input, cmd = v.input.Update(msg)
			v.applyLive()
			return cmd
		}
	}
	return nil
}

func (v *Model) key(msg tea.KeyPressMsg) tea.Cmd {
	k := v.keys
	v.note = ""
	page := max(1, v.height-3)
	switch {
	case key.Matches(msg, k.Follow):
		v.setPaused(!v.paused)
	case key.Matches(msg, k.Layout):
		v.split = !v.split
	case key.Matches(msg, k.NextPane):
		if len(v.hosts) > 0 {
			v.focus = (v.focus + 1) % len(v.hosts)
		}
	case key.Matches(msg, k.Wrap):
		v.wrap = !v.wrap
	case key.Matches(msg, k.Errors):
		v.showErrs = !v.showErrs
	case key.Matches(msg, k.Save):
		return v.startSave()
	case v.split && key.Matches(msg, k.Up):
		v.scrollPane(1)
	case v.split && key.Matches(msg, k.Down):
		v.scrollPane(-1)
	case v.split && key.Matches(msg, k.PageUp):
		v.scrollPane(v.paneHeight())
	case v.split && key.Matches(msg, k.PageDown):
		v.scrollPane(-v.paneHeight())
	case v.split && key.Matches(msg, k.Top):
		v.scrollPane(v.rowsLen())
	case key.Matches(msg, k.Up):
		v.scroll(1)
	case key.Matches(msg, k.Down):
		v.scroll(-1)
	case key.Matches(msg, k.PageUp):
		v.scroll(page)
	case key.Matches(msg, k.PageDown):
		v.scroll(-page)
	case key.Matches(msg, k.Top):
		v.scroll(v.rowsLen())
	case key.Matches(msg, k.Bottom):
		v.setPaused(false)
	case key.Matches(msg, k.Filter):
		return v.startTyping(typingFilter, v.filter)
	case key.Matches(msg, k.Search):
		return v.startTyping(typingSearch, v.search)
	case key.Matches(msg, k.NextMatch):
		v.findMatch(+1)
	case key.Matches(msg, k.PrevMatch):
		v.findMatch(-1)
	}
	return nil
}

// setPaused pauses or follows; following shows the newest lines again.
// The split panes stay on the lines they showed when paused.
func (v *Model) setPaused(p bool) {
	if p && !v.paused {
		for h, r := range v.perHost {
			v.pausedAt[h] = r.Total()
		}
	}
	v.paused = p
	if !p {
		v.offset, v.unseen, v.match = 0, 0, 0
		clear(v.held)
	}
}

// scroll moves the merged view n rows towards older lines (n < 0: newer);
// scrolling pauses, and reaching the newest line follows again.
func (v *Model) scroll(n int) {
	maxOff := max(0, v.rowsLen()-1)
	v.offset = min(maxOff, max(0, v.offset+n))
	if v.offset == 0 && n < 0 {
		v.setPaused(false)
		return
	}
	if n > 0 {
		v.setPaused(true)
	}
}

func (v *Model) startTyping(what int, cur logs.Filter) tea.Cmd {
	v.typing = what
	v.input.Prompt = "filter> "
	if what == typingSearch {
		v.input.Prompt = "search> "
	}
	v.input.SetValue(cur.String())
	v.input.CursorEnd()
	return v.input.Focus()
}

func (v *Model) typeKey(msg tea.KeyPressMsg) tea.Cmd {
	k := v.keys
	switch {
	case key.Matches(msg, k.Cancel):
		if v.typing == typingFilter {
			v.setFilter("") // esc clears a filter: the rows come back
		}
		v.typing = 0
		v.input.Blur()
		return nil
	case key.Matches(msg, k.Apply):
		what := v.typing
		v.typing = 0
		v.input.Blur()
		if what == typingSearch {
			v.setSearch(v.input.Value())
		}
		return nil
	case key.Matches(msg, k.Regex) && v.typing != typingSave:
		v.regex = !v.regex
		v.applyLive()
		return nil
	}
	var cmd tea.Cmd
	v.input, cmd = v.input.Update(msg)
	v.applyLive()
	return cmd
}

// applyLive applies a filter as it is typed.
func (v *Model) applyLive() {
	if v.typing == typingFilter && v.input.Value() != v.filter.String() {
		v.setFilter(v.input.Value())
	}
}

func (v *Model) setFilter(p string) {
	f, err := logs.NewFilter(p, v.regex)
	if err != nil {
		v.note, v.patternNote = err.Error(), err.Error()
		return // keep the last valid filter while the pattern is being typed
	}
	v.clearPatternNote()
	v.filter = f
	v.refilter()
}

func (v *Model) setSearch(p string) {
	f, err := logs.NewFilter(p, v.regex)
	if err != nil {
		v.note, v.patternNote = err.Error(), err.Error()
		return
	}
	v.clearPatternNote()
	v.search = f
	v.match, v.paneMatch = 0, 0
	if !f.Empty() {
		v.findMatch(+1)
	}
}

// findMatch moves to the next row matching the search towards older rows
// (dir > 0) or newer ones (dir < 0), starting from the last match or the
// bottom of the screen, and pauses there.
func (v *Model) findMatch(dir int) {
	if v.search.Empty() {
		v.note = "no search: press / first"
		return
	}
	if v.split && len(v.hosts) > 0 {
		v.findPaneMatch(dir)
		return
	}
	rows := v.rowsLast(0)
	n := len(rows)
	from := v.match // counted from the newest, 1-based
	if from <= 0 {
		from = v.offset
	}
	for i := from + dir; i >= 1 && i <= n; i += dir {
		if l := rows[n-i]; l.Kind == logs.KindLine && v.search.Match(l.Text) {
			v.match = i
			v.setPaused(true)
			v.offset = max(0, i-1-max(0, v.height-3)/2) // the match mid-screen
			return
		}
	}
	if dir > 0 {
		v.note = "no older match"
	} else {
		v.note = "no newer match"
	}
}

// ID is the view's number: its messages carry it.
func (v *Model) ID() int { return v.id }

// Add takes a line of the follow; it is safe for concurrent use and
// never blocks (the view takes the lines on its tick).
func (v *Model) Add(l logs.Line) { v.buf.Add(l) }

// Finish ends the follow: the lines that arrived are taken, and err (nil
// when it was stopped) is shown.
func (v *Model) Finish(err error) {
	v.done = true
	v.take()
	v.err = err
}

// Typing reports whether a filter, a search or a path is being typed:
// the keys are text then.
func (v *Model) Typing() bool { return v.typing != 0 }

// Footer is the footer while the view is shown: the keys (short draws
// them as the root's help does), or what is being typed.
func (v *Model) Footer(short func([]key.Binding) string) string {
	st := v.ctx.Styles
	switch v.typing {
	case 0:
		return short(v.KeyMap())
	case typingOverwrite:
		return st.Warn.Render(v.savePath+" exists: overwrite it? ") + st.Key.Render("y/N")
	case typingSave:
		return v.typedLine(short, " ")
	}
	mode := "plain"
	if v.regex {
		mode = "regex"
	}
	return v.typedLine(short, st.Muted.Render(" ["+mode+"] "))
}

// typedLine is the footer while a line is typed: the input, mid, then as
// much of the keys' help as leaves the input room (all of it, the first
// and last key, or none), so neither is cut to a letter.
func (v *Model) typedLine(short func([]key.Binding) string, mid string) string {
	in := v.input
	fixed := lipgloss.Width(in.Prompt) + lipgloss.Width(mid) + 1
	keys := v.KeyMap()
	for _, bs := range [][]key.Binding{keys, {keys[0], keys[len(keys)-1]}, nil} {
		help := ""
		if len(bs) > 0 {
			help = short(bs)
		}
		if room := v.width - fixed - lipgloss.Width(help); room >= 24 || bs == nil {
			in.SetWidth(max(1, room))
			return in.View() + mid + help
		}
	}
	return in.View()
}

// clearPatternNote drops the note of a pattern that did not compile once
// the pattern is valid again.
func (v *Model) clearPatternNote() {
	if v.patternNote != "" && v.note == v.patternNote {
		v.note = ""
	}
	v.patternNote = ""
}

// Say shows note in the view's header until the next key.
func (v *Model) Say(note string) { v.note = note }
