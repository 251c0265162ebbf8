package flows

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// plainLook is the look of a rollback, a migrate and a flush: a title, the
// plan's lines under a cursor, the result's lines; spec says them.
type plainLook[P, R any] struct{ spec plainSpec[P, R] }

// plainSpec is what a plainLook reads from its spec.
type plainSpec[P, R any] interface {
	name() string // "roll back", "migrate", "flush caches"
	// moved says the plan must be read again for arg when the cursor
	// moves to a row.
	moved(plan P, cursor int) (arg string, reload bool)
	toggle(plan P, cursor int) // space on a row
	planLines(st common.Styles, plan P, cursor, w int) []string
	question(t pickItem, plan P) string
	resultLines(st common.Styles, res R, err error, w int) []string
}

func (l plainLook[P, R]) header(f *opFlow[P, R], w int) []string {
	title := l.spec.name()
	if f.step > opPick {
		title += " · " + f.target.String()
	}
	return []string{f.env.ctx.Styles.Title.Render(common.Clip(title, w))}
}

func (plainLook[P, R]) pickHeading() (string, string) { return "where?", "target" }

func (l plainLook[P, R]) planBody(f *opFlow[P, R], w, h int) string {
	return scrollLines(l.planView(f, w), max(0, f.cursor-h/2), h)
}

// planKey moves the cursor over the plan's rows (reading the plan again
// when the row is its argument) and toggles a row.
func (l plainLook[P, R]) planKey(f *opFlow[P, R], km tea.KeyPressMsg) tea.Cmd {
	k := f.env.keys
	if !f.loaded {
		return nil
	}
	switch {
	case key.Matches(km, k.Up), key.Matches(km, k.Down):
		d := 1
		if key.Matches(km, k.Up) {
			d = -1
		}
		f.cursor = max(0, min(f.spec.rows(f.plan)-1, f.cursor+d))
		if arg, reload := l.spec.moved(f.plan, f.cursor); reload && arg != f.arg {
			f.arg = arg
			return f.load()
		}
	case key.Matches(km, k.Toggle):
		l.spec.toggle(f.plan, f.cursor)
	}
	return nil
}

func (plainLook[P, R]) planNotes(k KeyMap) (string, string) {
	return "the plan is still being read", "no plan: " + common.KeyName(k.PrevStep) + " to choose again, " + common.KeyName(k.Back) + " to leave"
}

func (plainLook[P, R]) strategyBody(f *opFlow[P, R], w, h int) string {
	st := f.env.ctx.Styles
	_, plan, err := f.strategyPlan()
	lines := strings.Split(strings.TrimRight(st.Header.Render("how are the hosts switched?")+"\n"+f.strategy.view(st, f.env.keys, w, plan, err), "\n"), "\n")
	return scrollLines(lines, 0, h)
}

func (l plainLook[P, R]) confirmBody(f *opFlow[P, R], w int) string {
	st := f.env.ctx.Styles
	var b strings.Builder
	for _, line := range l.planView(f, w) {
		b.WriteString(line + "\n")
	}
	b.WriteString("\n" + f.confirm.view(st, w, l.spec.question(f.target, f.plan), f.env.keys))
	return b.String()
}

func (plainLook[P, R]) runNote(k KeyMap) string {
	return "it is running: " + common.KeyName(k.CancelRun) + " aborts it (it asks first)"
}

func (l plainLook[P, R]) doneBody(f *opFlow[P, R], w int) string {
	st := f.env.ctx.Styles
	var b strings.Builder
	for _, line := range l.spec.resultLines(st, f.outcome(), f.runner.err, w) {
		b.WriteString(common.ClipStyled(line, w) + "\n")
	}
	b.WriteString("\n" + common.ClipStyled(st.Key.Render(common.KeyName(f.env.keys.NextStep))+st.Muted.Render(" the hosts' output · ")+
		st.Key.Render(common.KeyName(f.env.keys.Back))+st.Muted.Render(" back to the fleet"), w))
	return b.String()
}

func (plainLook[P, R]) doneKey(f *opFlow[P, R], km tea.KeyPressMsg) (Flow, tea.Cmd) {
	k := f.env.keys
	switch {
	case key.Matches(km, k.Back):
		return nil, nil
	case key.Matches(km, k.NextStep):
		f.panes = !f.panes
		return f, nil
	}
	return f, f.runner.update(km)
}

func (plainLook[P, R]) keyMap(f *opFlow[P, R]) []key.Binding {
	k := f.env.keys
	switch f.step {
	case opRun:
		return f.runner.help()
	case opDone:
		return []key.Binding{common.WithDesc(k.NextStep, "result/panes"), common.WithDesc(k.Back, "back to the fleet")}
	case opConfirm:
		return []key.Binding{f.confirm.confirmKey(k), k.PrevStep, common.WithDesc(k.Back, "leave")}
	}
	return []key.Binding{k.Up, k.Down, k.NextStep, k.PrevStep, common.WithDesc(k.Back, "leave")}
}

// planView is the plan's lines, or why there are none yet.
func (l plainLook[P, R]) planView(f *opFlow[P, R], w int) []string {
	st := f.env.ctx.Styles
	switch {
	case f.planErr != nil:
		return []string{st.Error.Render(common.Clip(f.planErr.Error(), w))}
	case !f.loaded:
		return []string{st.Muted.Render("reading the plan…")}
	}
	return l.spec.planLines(st, f.plan, f.cursor, w)
}
