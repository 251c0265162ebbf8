package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
	fleetview "github.com/opsui/opsui/ui/fleet"
	flowsview "github.com/opsui/opsui/ui/flows"
	runview "github.com/opsui/opsui/ui/run"
)

// DefaultRefreshInterval is how often the status panel probes the fleet
// when Options.RefreshInterval is 0.
const DefaultRefreshInterval = fleetview.DefaultRefreshInterval

// Options configure the console.
type Options struct {
	Theme themes.Theme
	// LoadFleet reads the inventory; it runs inside a tea.Cmd, never in Update.
	LoadFleet func(context.Context) (*inventory.Fleet, error)
	// Exec runs command on hosts, sending every event to emit (which is
	// safe for concurrent use); it runs inside a tea.Cmd. Nil disables x.
	Exec     func(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error)
	ReadOnly bool
	// Probe looks at hosts of the fleet for the status panel and returns a
	// probe per host (ops.Prober.ProbeAll). A round every RefreshInterval
	// (DefaultRefreshInterval when 0) calls it from several tea.Cmds at
	// once, a chunk of hosts each, so it must be safe for concurrent use
	// and bound its own parallelism; it must return within a few probe
	// timeouts. Nil: no status panel.
	Probe           fleetview.ProbeFunc
	RefreshInterval time.Duration
	// LastRuns returns a host's last runs, newest first, for the detail
	// pane; it runs inside a tea.Cmd. Nil: the pane shows none.
	LastRuns func(ctx context.Context, host string) ([]ops.HostRun, error)
	// Asker, when set, brings the engine's host-key and passphrase
	// questions to the console as dialogs; give its methods to the pool.
	Asker *Asker
	// ListRuns returns the newest recorded runs, newest first, for the
	// past runs list; LoadRun reads one with every host's output to replay
	// it. Both run inside tea.Cmds. Nil: no past runs.
	ListRuns func(ctx context.Context, limit int) ([]store.Run, error)
	LoadRun  func(ctx context.Context, id int64) (ops.RecordedRun, error)
	// FollowRun follows a teammate's run under way, opened from the
	// past runs (ops.Service.FollowRun); nil: such a run is replayed as
	// recorded so far.
	FollowRun runview.FollowFunc
	// Keys are the bindings (Config.KeyMap); nil: DefaultKeyMap.
	Keys *KeyMap
	// Flows are the guided flows' entry points (ui/flows).
	Flows flowsview.Flows
	// Logs follows the logs of hosts for the logs view (L); nil: no logs.
	Logs LogsFunc
	// LogsBacklog is Logs with the lines of history to start with: the
	// logs view's b reopens the follow with more; nil: b is off.
	LogsBacklog LogsBacklogFunc
	// LogTies ties the logs view's error groups to the releases they were
	// first seen in (ops.ErrorTies); nil: no "first seen in" column.
	LogTies LogTiesFunc
	// Shell opens an interactive shell on a host (s); nil: no shell.
	Shell ShellFunc
	// Forward forwards a local port to a host's (the palette's :forward);
	// nil: no forward.
	Forward ForwardFunc
	// Presence watches teammates' runs for the header; nil: none shown.
	Presence PresenceFunc
	// ExecApp is Exec in an app's current release with its shared/.env
	// loaded (the command line's ExecInApp; ui/exec_app.go); nil: off.
	ExecApp ExecAppFunc
	// EnvDrift reads the fleet's env drift for the status panel and the
	// detail pane (ops.Service.EnvDrift), inside a tea.Cmd; nil: none.
	EnvDrift fleetview.EnvDriftFunc
	// Runbook runs a runbook of the fleet file (ui/runbook.go); nil: off.
	Runbook RunbookFunc
	// Maintenance reads the apps in maintenance for the header
	// (ui/maintenance.go); nil: none shown.
	Maintenance MaintenanceFunc
}

// The console's modes: what has the keyboard.
type mode int

const (
	modeFleet   mode = iota
	modeCommand      // typing the command to run on the selection
	modeRun          // watching a run
	modeRuns         // choosing a past run
	modeFlow         // a guided flow: deploy wizard, rollback, migrate, flush, releases
	modeLogs         // following logs (ui/logs)
	modePalette      // the : command palette (palette.go)
)

// App is the root model: it owns the screen layout, the global keys, the
// help, the dialogs and the toasts, and hands everything else to its
// components. Each field is a component or one concern's state.
type App struct {
	ctx  *common.Context
	keys *KeyMap     // never changed after New: every message copies the App
	help *help.Model // replaced, not changed, for the same reason
	mode mode
	// notice is the footer's one-line message (a key that does nothing now).
	notice   string
	showHelp bool

	inv     inventoryLoad
	fleet   fleetview.Model
	status  *fleetview.Board
	detail  fleetview.Detail
	cmdline commandLine
	run     runview.Model // the session's last run
	replay  runview.Model // a recorded run reopened from the store
	// replaying: the run view shows replay, not run.
	replaying bool
	past      runview.List
	flows     flowHost
	// flowsBG: the flow (flows.cur) is out of sight, its work going on
	// while the operator looks around (app_background.go).
	flowsBG bool
	logs    logsState

	dialogs dialogStack
	toasts  toastStack
	shell   ShellFunc
	forward ForwardFunc
	palette palette

	presence presenceState // teammates' runs under way (ui/presence.go)
	runbook  runbookAsk    // the fleet file's runbooks (ui/runbook.go)
	maint    maintState    // the apps in maintenance (ui/maintenance.go)
}

// inventoryLoad is the reading of the inventory at start.
type inventoryLoad struct {
	load   func(context.Context) (*inventory.Fleet, error)
	loaded bool
	err    error
}

// commandLine is the command typed (x) and the runs it starts, one at a
// time: the number of the last, and how to cancel it.
type commandLine struct {
	exec   func(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error)
	input  textinput.Model
	runs   int
	cancel context.CancelFunc
	// confirm asks for a protected environment's name before the
	// command runs there.
	confirm execConfirm
	staged  stagedExec // one host first (exec_staged.go)
	inApp   execInApp  // in an app's release (exec_app.go)
}

// fleetLoadedMsg carries the inventory read by loadFleetCmd.
type fleetLoadedMsg struct {
	fleet *inventory.Fleet
	err   error
}

// New builds the console.
func New(opts Options) App {
	ctx := common.NewContext(opts.Theme)
	ctx.ReadOnly = opts.ReadOnly
	keys := DefaultKeyMap()
	if opts.Keys != nil {
		keys = *opts.Keys
	}
	h := help.New()
	h.Styles.ShortKey, h.Styles.FullKey = ctx.Styles.Key, ctx.Styles.Key
	h.Styles.ShortDesc, h.Styles.FullDesc = ctx.Styles.Muted, ctx.Styles.Muted
	h.Styles.ShortSeparator, h.Styles.FullSeparator = ctx.Styles.Muted, ctx.Styles.Muted
	h.Styles.Ellipsis = ctx.Styles.Muted
	load := opts.LoadFleet
	if load == nil {
		load = func(context.Context) (*inventory.Fleet, error) { return &inventory.Fleet{}, nil }
	}
	ti := textinput.New()
	setStagedPrompt(&ti, "", keys.ExecStaged.Help().Key)
	status := fleetview.NewBoard(opts.Probe, opts.RefreshInterval)
	status.SetEnvDrift(opts.EnvDrift)
	return App{ctx: ctx, keys: &keys, help: &h, inv: inventoryLoad{load: load}, fleet: fleetview.New(ctx, keys.fleetKeys(), status),
		cmdline: commandLine{exec: opts.Exec, input: ti, inApp: execInApp{exec: opts.ExecApp}},
		status:  status, detail: fleetview.NewDetail(ctx, status, opts.LastRuns),
		dialogs: dialogStack{asker: opts.Asker, warned: map[string]bool{}},
		past:    runview.NewList(ctx, keys.listKeys(), opts.ListRuns, opts.LoadRun).WithFollow(opts.FollowRun), flows: flowHost{fns: opts.Flows, life: context.Background(), tracker: flowsview.NewTracker()},
		logs: newLogsState(opts.Logs, opts.LogsBacklog, opts.LogTies), shell: opts.Shell, forward: opts.Forward, palette: newPalette(), runbook: runbookAsk{fn: opts.Runbook},
		presence: presenceState{watch: opts.Presence}, maint: maintState{read: opts.Maintenance}}
}

// Init loads the fleet and listens for the engine's questions.
func (a App) Init() tea.Cmd {
	return tea.Batch(a.loadFleetCmd(), listenAsker(a.dialogs.asker), a.presenceInit(), a.maint.fetch(0))
}

func (a App) loadFleetCmd() tea.Cmd {
	load := a.inv.load
	return func() tea.Msg {
		f, err := load(context.Background())
		return fleetLoadedMsg{fleet: f, err: err}
	}
}

// Update routes messages: ctrl+c first (handled here only; a running flow
// asks before it quits), then dialogs, then global keys, then the focused
// component.
func (a App) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyPressMsg); ok {
		if next, cmd, ok := a.quitUnderBackground(km); ok {
			return next, cmd
		}
		if next, ok := a.toBackground(km); ok {
			return next, nil
		}
	}
	if km, ok := msg.(tea.KeyPressMsg); ok && key.Matches(km, a.keys.ForceQuit) && !a.flowAsksToQuit() {
		a.stopLogs()
		return a, tea.Quit
	}
	if next, cmd, ok := a.statusUpdate(msg); ok {
		return next, cmd
	}
	if next, cmd, ok := a.presenceUpdate(msg); ok {
		return next, cmd
	}
	if next, cmd, ok := a.maintUpdate(msg); ok {
		return next, cmd
	}
	wasRunning := a.backgroundRunning()
	if next, cmd, ok := a.flowsUpdate(msg); ok {
		return a.afterFlowsUpdate(next, cmd, wasRunning)
	}
	if next, cmd, ok := a.logsUpdate(msg); ok {
		return next, cmd
	}
	if next, cmd, ok := a.runsUpdate(msg); ok {
		return next, cmd
	}
	switch msg := msg.(type) {
	case shellDoneMsg:
		return a, a.shellDone(msg)
	case forwardDoneMsg:
		// ssh ends with 255 on ctrl+c as on a failure: say it ended, and how.
		text := msg.what + " ended"
		if msg.err != nil {
			text += " (" + msg.err.Error() + ")"
		}
		return a, a.addToast(text)
	}
	if msg, ok := msg.(toastExpiredMsg); ok {
		a.expireToast(msg.id)
		return a, nil
	}
	focused := a.fleet.Focused().Name
	next, cmd := a.update(msg)
	if app := next.(App); app.mode == modeFleet && (app.fleet.Focused().Name != focused || isDetailToggle(msg, *app.keys)) {
		return next, tea.Batch(cmd, app.fetchLastRuns()) // next, not app: boxing app again would copy the App
	}
	return next, cmd
}

func (a App) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		a.ctx.Width, a.ctx.Height = msg.Width, msg.Height
		h := *a.help // a copy: other Apps may share the old one
		h.SetWidth(msg.Width)
		a.help = &h
		a.layout()
		return a, nil
	case fleetLoadedMsg:
		a.inv.loaded = true
		a.inv.err = msg.err
		if msg.err != nil {
			return a, nil
		}
		a.fleet.SetFleet(msg.fleet)
		a.status.ComputeDrift(msg.fleet)
		cmds := append([]tea.Cmd{a.status.StartRound(msg.fleet), a.fetchLastRuns(), a.status.FetchEnvDrift(msg.fleet)}, a.runbookKeyToasts()...)
		if tick := a.status.StartTicking(); tick != nil {
			cmds = append(cmds, tick)
		}
		return a, tea.Batch(cmds...)
	case runTickMsg:
		if f := a.run.Feed(); f == nil || msg.id != f.ID() || f.Done() {
			return a, nil
		}
		return a, runTick(msg.id)
	case runDoneMsg:
		a.detail.ForgetRuns()
		if msg.err != nil {
			return a, a.addToast(msg.err.Error())
		}
		return a, nil // the feed holds the result; this message just re-renders
	case runview.CancelMsg:
		if f := a.run.Feed(); f != nil && msg.ID == f.ID() && a.cmdline.cancel != nil {
			a.cmdline.cancel()
		}
		a.run, _ = a.run.Update(msg)
		return a, nil
	case tea.MouseWheelMsg, tea.MouseClickMsg:
		return a.mouse(msg.(tea.MouseMsg))
	case tea.KeyPressMsg:
		if a.mode == modePalette {
			return a.paletteKey(msg)
		}
		if next, cmd, ok := a.modeKey(msg); ok {
			return next, cmd
		}
		if a.mode == modeRuns {
			return a.runsKey(msg)
		}
		// While typing a filter, every key is text (ctrl+c quits in Update).
		if a.fleet.Filtering() {
			var cmd tea.Cmd
			a.fleet, cmd = a.fleet.Update(msg)
			return a, cmd
		}
		if next, cmd, ok := a.fleetKey(msg); ok {
			return next, cmd
		}
	}
	var cmd tea.Cmd
	a.fleet, cmd = a.fleet.Update(msg)
	return a, cmd
}

// flowAsksToQuit reports whether quitting is the shown flow's to handle:
// a running flow asks first and aborts its work (ui/flows_quit.go). A
// dialog in front of it does not ask: ctrl+c quits, and Run still waits
// for the flow's work to end.
func (a App) flowAsksToQuit() bool {
	return len(a.dialogs.queue) == 0 && a.mode == modeFlow && a.flows.cur != nil
}

// detailWidth is the width of the detail pane, 0 when it is not shown. Wide
// terminals always show it; narrow ones on enter.
func (a App) detailWidth() int { return a.detail.Width(a.ctx.Width) }

func (a *App) layout() {
	bodyH := a.bodyHeight()
	listW := a.ctx.Width - a.detailWidth()
	if listW <= 0 {
		listW = 0
	}
	a.fleet.SetSize(listW, bodyH)
	a.detail.SetSize(a.detailWidth(), bodyH)
	a.run.SetSize(a.ctx.Width, bodyH)
	a.replay.SetSize(a.ctx.Width, bodyH)
	a.past.SetSize(a.ctx.Width, bodyH)
	a.cmdline.input.SetWidth(max(10, a.ctx.Width-12))
	a.palette.input.SetWidth(max(10, a.ctx.Width-2))
	a.logsLayout()
	a.sizeFlow()
}

// View draws header, body and footer; only the root returns a tea.View.
func (a App) View() tea.View {
	v := tea.NewView(a.render())
	v.AltScreen = true
	v.WindowTitle = "opsui"
	v.MouseMode = tea.MouseModeCellMotion // wheel and click; shift+drag still selects text
	return v
}

func (a App) render() string {
	if a.ctx.Width == 0 {
		return "" // wait for the first WindowSizeMsg
	}
	st := a.ctx.Styles
	header := a.header()
	footer := a.fleetFooter()
	switch {
	case a.mode == modeCommand && a.runbook.asking():
		footer = a.runbookFooter()
	case a.mode == modeCommand && a.cmdline.confirm.active:
		run, leave := a.keys.Apply, a.keys.Cancel // copies: their help says what they do here
		run.SetHelp(run.Help().Key, "run once the name is typed")
		leave.SetHelp(leave.Help().Key, "leave without running")
		footer = a.help.ShortHelpView([]key.Binding{run, leave})
	case a.mode == modeCommand:
		footer = a.cmdline.input.View()
	case a.mode == modePalette:
		footer = a.palette.input.View()
	case a.mode == modeRun, a.mode == modeRuns, a.mode == modeFlow:
		// A copy in this branch only: focusedKeys keeps its receiver's
		// address, which would move every frame's App to the heap.
		c := a
		footer = a.rankedFooter(c.focusedKeys())
	case a.mode == modeLogs:
		footer = a.logsFooter()
	case a.notice != "":
		footer = st.Warn.Render(common.Clip(a.notice, a.ctx.Width))
	}
	// help's ShortHelpView overflows when its ellipsis does not fit either.
	footer = common.ClipStyled(footer, a.ctx.Width)
	bodyH := a.bodyHeight()
	var body string
	var panes common.Block // the fleet's body, measured as it is joined
	switch {
	case len(a.dialogs.queue) > 0:
		body = a.dialogView(a.ctx.Width, bodyH)
	case a.inv.err != nil:
		body = st.Error.Render("cannot load the inventory: ") + a.inv.err.Error()
	case !a.inv.loaded:
		body = st.Muted.Render("loading the inventory…")
	case a.mode == modeLogs:
		body = a.logsBody()
	case a.showHelp:
		body = a.helpView(bodyH)
	case a.mode == modeCommand && a.runbook.asking():
		body = a.runbookView(a.ctx.Width, bodyH)
	case a.mode == modeCommand && a.cmdline.confirm.active:
		body = a.cmdline.confirm.view(st, a.ctx.Width, bodyH)
	case a.mode == modeRun:
		body = a.shownRun().View()
	case a.mode == modeRuns:
		body = a.past.View()
	case a.mode == modeFlow:
		body = a.flowView(a.ctx.Width)
	default:
		panes = a.body()
	}
	// The layout is lipgloss's (a Height and MaxHeight style, JoinVertical),
	// each line measured once: at 2 000 hosts measuring was most of a frame.
	if panes.Lines == nil {
		panes = common.NewBlock(body)
	}
	panes = common.FixHeight(panes, bodyH)
	if a.mode == modePalette && len(a.dialogs.queue) == 0 {
		panes = common.NewBlock(a.paletteView(panes.String(), a.ctx.Width))
	}
	blocks := []common.Block{common.NewBlock(header), panes}
	if t := a.toastLines(a.ctx.Width); t != "" {
		blocks = append(blocks, common.NewBlock(t))
	}
	return common.JoinVertical(append(blocks, common.NewBlock(footer))...)
}

// bodyHeight is the body's height: the screen less the header, the footer
// and the toasts' lines (a toast never covers what the body shows).
func (a App) bodyHeight() int { return max(1, a.ctx.Height-2-a.toastRows()) }

func (a App) body() common.Block {
	dw := a.detailWidth()
	if dw == 0 {
		return common.NewBlock(a.fleet.View())
	}
	detail := a.detail.For(a.fleet.Fleet(), a.fleet.Focused(), a.run.Feed()).Block()
	if dw >= a.ctx.Width {
		return detail
	}
	return common.JoinHorizontal(common.NewBlock(a.fleet.View()), detail)
}

// shownRun is the run the run view shows: the session's last run or a
// replayed one.
func (a *App) shownRun() *runview.Model {
	if a.replaying {
		return &a.replay
	}
	return &a.run
}

// header is the console's first line. When it is too wide for the
// terminal (a maintenance badge, work out of sight, a teammate's run), the
// fleet's size goes first, then the badge is said short, so that the
// health counts stay on screen; what is still too wide is cut at the right.
func (a App) header() string {
	line := a.headerLine(true, false)
	if common.Width(line) > a.ctx.Width {
		line = a.headerLine(false, false)
	}
	if common.Width(line) > a.ctx.Width {
		line = a.headerLine(false, true)
	}
	return common.Clip(line, a.ctx.Width)
}

// headerLine is the header with or without the fleet's size, and with the
// maintenance badge in full or short.
func (a App) headerLine(sizes, shortBadge bool) string {
	st := a.ctx.Styles
	f := a.fleet.Fleet()
	parts := []string{st.Title.Render("opsui")}
	if sizes {
		parts = append(parts, fmt.Sprintf("%d hosts", len(f.Hosts)), fmt.Sprintf("%d environments", len(f.Environments)))
	}
	if n := a.fleet.Marked(); n > 0 {
		parts = append(parts, st.Selected.Render(fmt.Sprintf("%d selected", n)))
	}
	parts = append(parts, a.statusHeader()...)
	if bg := a.backgroundHeader(); bg != "" {
		// Work going on out of sight comes first: the header is cut at
		// the right on a narrow terminal.
		parts = append([]string{parts[0], bg}, parts[1:]...)
	}
	parts = append(parts, a.presenceHeader()...) // teammates' runs under way
	if m := a.maintHeader(shortBadge); m != nil {
		// A site answering 503 comes first of all.
		parts = append([]string{parts[0]}, append(m, parts[1:]...)...)
	}
	if a.ctx.ReadOnly {
		parts = append(parts, st.Warn.Render("read-only"))
	}
	return strings.Join(parts, st.Muted.Render(" · "))
}

// Run opens the console on the terminal and returns when the user quits or
// ctx is cancelled.
func Run(ctx context.Context, opts Options, progOpts ...tea.ProgramOption) error {
	if opts.Theme.Plain {
		// No colours, but bold and reverse video stay: NO_COLOR allows
		// them, and the cursor is drawn with them.
		progOpts = append(progOpts, tea.WithColorProfile(colorprofile.Ascii))
	}
	app := New(opts)
	life, stop := context.WithCancel(ctx)
	app.flows.life = life
	p := tea.NewProgram(app, append([]tea.ProgramOption{tea.WithContext(ctx)}, progOpts...)...)
	_, err := p.Run()
	// However it ended, no flow outlives the console: each is cancelled and
	// waited for, so that its hosts stop and its deploy lock is released.
	ferr := app.closeFlows(stop)
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		err = nil // ctrl+c from the signal handler: a normal way out
	}
	return errors.Join(err, ferr)
}
