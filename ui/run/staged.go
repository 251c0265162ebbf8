package run

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ui/common"
)

// A staged ad-hoc run goes to one host first; the others are held (their
// panes say so) until the operator, having read the first host's result,
// continues on them or aborts. A failure on the first host ends the run
// there: the console never asks to go on after one.

// continueQuestion is a staged run's question once its first host ended
// well.
type continueQuestion struct {
	first string
	rest  int
}

// ContinueMsg answers run ID's question: Go runs the command on the held
// hosts; otherwise the run ends with them not run.
type ContinueMsg struct {
	ID int
	Go bool
}

// AskContinue asks whether the run goes on from host first to the rest
// held hosts; y says yes, c aborts, every other key reads the run.
func (v *Model) AskContinue(first string, rest int) {
	v.ask = &continueQuestion{first: first, rest: rest}
}

// EndQuestion closes the question, answered elsewhere.
func (v *Model) EndQuestion() { v.ask = nil }

// AskingContinue reports whether the view asks to continue a staged run.
func (v Model) AskingContinue() bool { return v.ask != nil }

func (v Model) askLine() string {
	q := v.ask
	s := fmt.Sprintf("%s ended well. %s: run on the other %d %s · %s: abort, they never run",
		q.first, keyName(v.keys.Confirm), q.rest, plural(q.rest, "host", "hosts"), keyName(v.keys.CancelRun))
	return v.ctx.Styles.Warn.Render(common.Clip(s, v.width))
}

// askKey answers the question: Confirm continues, CancelRun aborts (no
// second question: nothing runs, and aborting is the safe way); false for
// the other keys, which read the run as ever.
func (v *Model) askKey(km tea.KeyPressMsg, cmd *tea.Cmd) bool {
	var yes bool
	switch {
	case key.Matches(km, v.keys.Confirm):
		yes = true
	case key.Matches(km, v.keys.CancelRun):
	default:
		return false
	}
	v.ask = nil
	msg := ContinueMsg{ID: v.feed.id, Go: yes}
	*cmd = func() tea.Msg { return msg }
	return true
}

// askKeys is the footer while the question is asked.
func (v Model) askKeys() []key.Binding {
	k := v.keys
	return []key.Binding{
		common.WithDesc(k.Confirm, fmt.Sprintf("run on the other %d", v.ask.rest)),
		common.WithDesc(k.CancelRun, "abort"),
		k.Up, k.Down, k.Zoom, k.Wrap, k.Back, k.Help,
	}
}

// Hold marks hosts as held until the first host of a staged run is done.
func (f *Feed) Hold(hosts []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, h := range hosts {
		if p := f.byName[h]; p != nil {
			p.held = true
		}
	}
}

// Release lets the held hosts go: they are queued to run now.
func (f *Feed) Release() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.panes {
		p.held = false
	}
}
