package flows

import (
	"context"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/internal/testfleet"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
	fleetview "github.com/opsui/opsui/ui/fleet"
	"github.com/opsui/opsui/ui/internal/flowtest"
	"github.com/opsui/opsui/ui/internal/uitest"
	runview "github.com/opsui/opsui/ui/run"
)

// The helpers shared with the console's tests (ui/internal/uitest,
// ui/internal/flowtest).
var (
	keys     = uitest.Keys
	hostOut  = uitest.Host
	recorded = uitest.Recorded
	chunk    = uitest.Chunk
)

// fakeFlows is the fake engine, its entry points as Flows.
type fakeFlows struct{ *flowtest.Fake }

func newFakeFlows(fl *inventory.Fleet) fakeFlows { return fakeFlows{flowtest.NewFake(fl)} }

func (f fakeFlows) fns() Flows {
	return Flows{Refs: f.Refs, Preview: f.Preview, Deploy: f.Deploy,
		RollbackPreview: f.RollbackPreview, Rollback: f.Rollback, MigrationPlan: f.MigrationPlan, Migrate: f.Migrate,
		FlushPlan: f.FlushPlan, Flush: f.Flush, Releases: f.Releases, Compare: f.Compare}
}

func sampleFleet(t *testing.T) *inventory.Fleet { return testfleet.Load(t) }

// testKeys binds the flows' keys as the console's key table does by
// default (ui/keys.go; the console's own tests drive the flows through it,
// rebindings included).
func testKeys() KeyMap {
	b := func(help, desc string, keys ...string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(help, desc))
	}
	k := KeyMap{
		Up: b("↑/k", "up", "up", "k"), Down: b("↓/j", "down", "down", "j"),
		PageUp: b("pgup", "page up", "pgup", "ctrl+u"), PageDown: b("pgdn", "page down", "pgdown", "ctrl+d"),
		Top: b("g", "top", "home", "g"), Bottom: b("G", "bottom", "end", "G"),
		NextStep: b("enter/tab", "next step", "enter", "tab"), PrevStep: b("shift+tab", "previous step", "shift+tab"),
		Confirm: b("y", "confirm", "y"), Back: b("esc", "back to the fleet", "esc"),
		Apply:  b("enter", "apply (run the command, keep the filter)", "enter"),
		Cancel: b("esc", "cancel (clear what was typed)", "esc"), Filter: b("/", "filter", "/"),
		FieldUp: b("↑", "previous field or item", "up"), FieldDown: b("↓", "next field or item", "down"),
		ChoicePrev: b("←/h", "previous choice", "left", "h"), ChoiceNext: b("→/l/space", "next choice", "right", "l", "space"),
		Toggle: b("space", "include/leave out", "space"), Rollback: b("r", "roll back", "r"),
		Mark: b("space", "mark for compare", "space"), Compare: b("c", "compare the two marked", "c"),
		Open: b("enter", "open the run", "enter"), NextFailed: b("n", "next failed host", "n"),
		Follow: b("f", "follow output on/off", "f"), CancelRun: b("c", "cancel the run", "c"), Help: b("?", "help", "?"),
	}
	k.Run = runview.KeyMap{Up: k.Up, Down: k.Down, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom,
		NextFailed: k.NextFailed, PrevFailed: b("p", "previous failed host", "p"), Follow: k.Follow, CancelRun: k.CancelRun,
		Confirm: k.Confirm, Back: k.Back, Help: k.Help, Left: b("←/h", "scroll left", "left", "h"), Right: b("→/l", "scroll right", "right", "l")}
	return k
}

// The size of the flow area the driver gives a flow: the console's
// 140x40, less its header and footer.
const (
	testWidth  = 140
	testHeight = 40
)

// driver runs a flow as the console would: every cmd in a goroutine, its
// messages fed back one by one, so an engine blocked on a question does
// not block the test; a closed flow's late messages are dropped as the
// root drops them. With no flow shown, the fleet's keys open one on the
// staging environment (the console's focused host's).
type driver struct {
	t    *testing.T
	env  *Env
	cur  Flow
	seq  int
	msgs chan tea.Msg
	// width and height, when set, are the size flows get (else testWidth).
	width, height int
}

// seqMsg is a message of the driver's flow seq.
type seqMsg struct {
	seq int
	msg tea.Msg
}

func newFlowDriver(t *testing.T, fns Flows, load func(context.Context, int64) (ops.RecordedRun, error)) *driver {
	t.Helper()
	ctx := common.NewContext(themes.Dark().WithoutColor())
	ctx.Width, ctx.Height = testWidth, testHeight
	env := NewEnv(Deps{Ctx: ctx, Keys: testKeys(), Fns: fns, Fleet: sampleFleet(t), Status: fleetview.NewBoard(nil, 0), LoadRun: load,
		Life: context.Background(), Tracker: NewTracker()})
	return &driver{t: t, env: env, msgs: make(chan tea.Msg, 256)}
}

// openers are the fleet's keys that open a flow (ui/keys.go's defaults).
var openers = map[string]func(*Env, string) (Flow, tea.Cmd){
	"d": OpenDeploy, "r": OpenRollback, "m": OpenMigrate, "F": OpenFlush, "R": OpenReleases,
}

// show puts next on screen with its first cmd, as the root does.
func (d *driver) show(next Flow, cmd tea.Cmd) {
	if next != d.cur {
		d.seq++
	}
	d.cur = next
	if next != nil {
		w, h := testWidth, testHeight-2
		if d.width > 0 {
			w, h = d.width, d.height // a test's own size
		}
		next.SetSize(w, h)
	}
	d.do(d.seq, cmd)
}

// do runs cmd, its messages tagged with seq; a batch is run command by
// command.
func (d *driver) do(seq int, cmd tea.Cmd) {
	if cmd != nil {
		go func() { d.msgs <- seqMsg{seq: seq, msg: cmd()} }()
	}
}

// feed hands a message a cmd returned to the flow it is for.
func (d *driver) feed(m seqMsg) {
	switch msg := m.msg.(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			d.do(m.seq, c)
		}
	default:
		if m.seq == d.seq && d.cur != nil {
			d.show(d.cur.Update(msg))
		}
	}
}

func (d *driver) send(msg tea.Msg) {
	if d.cur == nil {
		if km, ok := msg.(tea.KeyPressMsg); ok {
			if open := openers[km.String()]; open != nil {
				d.show(open(d.env, "staging"))
			}
		}
		return
	}
	d.show(d.cur.Update(msg))
}

// press sends keys ("enter", "esc", "up", "down", "space", "shift+tab", or text).
func (d *driver) press(names ...string) {
	for _, n := range names {
		switch n {
		case "shift+tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab, Mod: tea.ModShift}))
			continue
		case "tab":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyTab}))
			continue
		case "right":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyRight}))
			continue
		case "left":
			d.send(tea.KeyPressMsg(tea.Key{Code: tea.KeyLeft}))
			continue
		}
		for _, m := range keys(n) {
			d.send(m)
		}
	}
}

// viewText is the flow's view and its keys as the footer lists them,
// without styles; "" with no flow shown.
func (d *driver) viewText() string {
	if d.cur == nil {
		return ""
	}
	var help []string
	for _, b := range d.cur.KeyMap() {
		help = append(help, b.Help().Key+" "+b.Help().Desc)
	}
	return ansi.Strip(d.cur.View() + "\n" + strings.Join(help, " • "))
}

// until feeds messages until cond holds, failing after a while.
func (d *driver) until(what string, cond func(view string) bool) string {
	d.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if v := d.viewText(); cond(v) {
			return v
		}
		select {
		case msg := <-d.msgs:
			d.feed(msg.(seqMsg))
		case <-deadline:
			d.t.Fatalf("no %s; screen:\n%s", what, d.viewText())
		}
	}
}

// see waits until the view shows every one of want.
func (d *driver) see(want ...string) string {
	d.t.Helper()
	return d.until(strings.Join(want, " + "), func(v string) bool {
		for _, w := range want {
			if !strings.Contains(v, w) {
				return false
			}
		}
		return true
	})
}

// settle feeds the messages already there (and those they cause) for a
// moment, for checks that something did not happen.
func (d *driver) settle() string {
	d.t.Helper()
	end := time.After(150 * time.Millisecond)
	for {
		select {
		case msg := <-d.msgs:
			d.feed(msg.(seqMsg))
		case <-end:
			return d.viewText()
		}
	}
}

// steps is the walk of an op flow, whatever its plan's type.
func (f *opFlow[P, R]) steps() *opSteps { return &f.opSteps }

// opStepsOf is the walk of the op flow shown, nil when none is.
func opStepsOf(f Flow) *opSteps {
	s, ok := f.(interface{ steps() *opSteps })
	if !ok {
		return nil
	}
	return s.steps()
}
