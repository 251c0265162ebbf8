package flows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui/common"
	runview "github.com/opsui/opsui/ui/run"
)

// sayLines is how many of a flow's own messages are kept.
const sayLines = 200

// sayLog keeps a running flow's own messages (batches, locks, canary);
// the engine writes from its goroutines, the view reads.
type sayLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *sayLog) say(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, s)
	if len(l.lines) > sayLines {
		l.lines = l.lines[len(l.lines)-sayLines:]
	}
}

func (l *sayLog) last(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines[max(0, len(l.lines)-n):]...)
}

// canaryAsk is a question of the engine waiting for the user; the answer
// goes back on reply (buffered, so answering never blocks).
type canaryAsk struct {
	question string
	reply    chan bool
}

// The runner's messages; a flow passes them on to its runner.
type (
	flowTickMsg  struct{}
	canaryAskMsg struct{ ask canaryAsk }
	runnerDone   struct {
		keep func() // stores the work's value where its flow reads it, in Update
		res  remote.Result
		err  error
	}
)

// runnerFunc runs a flow's work with the console's FlowIO; value is what
// the flow's result step shows, res the hosts' outcome as the run view
// shows it.
type runnerFunc[V any] func(ctx context.Context, io ops.IO) (value V, res remote.Result, err error)

// flowRunner runs a flow's work in a tea.Cmd and shows it in the run
// view: a pane per host with its stage, the flow's messages above, and
// the engine's questions (the canary's go-ahead) with their keys.
type flowRunner struct {
	env     *Env
	kind    string // "deploy", "rollback"...: the header names a flow out of sight by it
	feed    *runview.Feed
	rv      runview.Model
	log     *sayLog
	asks    chan canaryAsk
	stop    chan struct{} // closed when the work returns
	cancel  context.CancelFunc
	pending *canaryAsk
	done    bool
	err     error
}

// startWork starts w.
func startWork[V any](env *Env, w opWork[V]) (*flowRunner, *V, tea.Cmd) {
	return startRunner(env, w.kind, w.what, w.hosts, w.run)
}

// startRunner starts work on hosts; kind and what name the run. The
// work's value is in *value once the runner is done.
func startRunner[V any](env *Env, kind, what string, hosts []string, work runnerFunc[V]) (r *flowRunner, value *V, cmd tea.Cmd) {
	feed := runview.NewFeed(0, what, hosts)
	feed.SetTitle(kind)
	ctx, cancel := context.WithCancel(env.life)
	value = new(V)
	r = &flowRunner{env: env, kind: kind, feed: feed, rv: runview.New(env.ctx, env.keys.runKeys(), feed), log: &sayLog{},
		asks: make(chan canaryAsk), stop: make(chan struct{}), cancel: cancel}
	io := ops.IO{Emit: feed.Event, Say: r.log.say, Confirm: r.confirm, Watch: feed.Watch}
	stop, tracker := r.stop, env.tracker
	run := func() tea.Msg {
		defer close(stop)
		if !tracker.Begin() {
			err := errors.New("the console is closing: not started")
			feed.Finish(remote.Result{}, err)
			return runnerDone{err: err}
		}
		defer tracker.End()
		v, res, err := work(ctx, io)
		feed.Settle(res)
		feed.Finish(res, err)
		return runnerDone{keep: func() { *value = v }, res: res, err: err}
	}
	return r, value, tea.Batch(run, flowTick(), r.listen())
}

func flowTick() tea.Cmd {
	return tea.Tick(50*time.Millisecond, func(time.Time) tea.Msg { return flowTickMsg{} })
}

// confirm is FlowIO.Confirm: it puts the question to the user and waits,
// in the engine's goroutine, for the answer.
func (r *flowRunner) confirm(ctx context.Context, q string) (bool, error) {
	ask := canaryAsk{question: q, reply: make(chan bool, 1)}
	select {
	case r.asks <- ask:
	case <-ctx.Done():
		return false, ctx.Err()
	}
	select {
	case ok := <-ask.reply:
		return ok, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// listen waits, in a tea.Cmd, for the engine's next question.
func (r *flowRunner) listen() tea.Cmd {
	asks, stop := r.asks, r.stop
	return func() tea.Msg {
		select {
		case a := <-asks:
			return canaryAskMsg{ask: a}
		case <-stop:
			return nil
		}
	}
}

// update handles the runner's messages and keys.
func (r *flowRunner) update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case flowTickMsg:
		if r.done {
			return nil
		}
		return flowTick()
	case canaryAskMsg:
		r.pending = &msg.ask
		return nil
	case runnerDone:
		if msg.keep != nil {
			msg.keep()
		}
		r.done, r.err, r.pending = true, msg.err, nil
		return nil
	case runview.CancelMsg:
		r.cancel()
		r.rv, _ = r.rv.Update(msg)
		r.log.say("aborting: every host stops at its next step")
		return nil
	case tea.KeyPressMsg:
		if r.pending != nil && !r.rv.Asking() {
			switch {
			case key.Matches(msg, r.env.keys.Confirm):
				return r.answer(true)
			case key.Matches(msg, r.env.keys.Rollback):
				return r.answer(false)
			}
		}
		r.rv.SetSize(r.env.ctx.Width, max(1, r.env.ctx.Height-2-r.headLines()))
		var cmd tea.Cmd
		r.rv, cmd = r.rv.Update(msg)
		return cmd
	}
	return nil
}

// asking reports whether the run view asks to cancel the work.
func (r *flowRunner) asking() bool { return r.rv.Asking() }

func (r *flowRunner) answer(ok bool) tea.Cmd {
	r.pending.reply <- ok
	if ok {
		r.log.say("canary approved: the other hosts follow")
	} else {
		r.log.say("canary refused: rolling it back")
	}
	r.pending = nil
	return r.listen()
}

// headLines is how many lines the runner draws above the run view.
func (r *flowRunner) headLines() int {
	n := len(r.log.last(3))
	if r.pending != nil {
		n += 2
	}
	return n
}

// view draws the flow's messages, the question, then the run view.
func (r *flowRunner) view(w, h int) string {
	st := r.env.ctx.Styles
	var b strings.Builder
	for _, l := range r.log.last(3) {
		b.WriteString(st.Muted.Render(common.Clip(l, w)) + "\n")
	}
	if r.pending != nil {
		b.WriteString(st.Warn.Render(common.Clip("? "+r.pending.question, w)) + "\n")
		b.WriteString(common.Clip(st.Key.Render(common.KeyName(r.env.keys.Confirm))+" continue   "+st.Key.Render(common.KeyName(r.env.keys.Rollback))+" roll the canary back", w) + "\n")
	}
	rv := r.rv
	rv.SetSize(w, max(3, h-r.headLines()))
	b.WriteString(rv.View())
	return b.String()
}

// help is the runner's footer.
func (r *flowRunner) help() []key.Binding {
	k := r.env.keys
	if r.pending != nil {
		return []key.Binding{common.WithDesc(k.Confirm, "continue"), common.WithDesc(k.Rollback, "roll back the canary"), k.CancelRun}
	}
	if r.done {
		return []key.Binding{k.Up, k.Down, k.NextFailed, k.Follow}
	}
	return []key.Binding{k.Up, k.Down, k.NextFailed, k.Follow, common.WithDesc(k.CancelRun, "abort (asks first)")}
}

// outcomeResult turns a deploy's outcome into the run view's result.
func outcomeResult(out *deploy.Outcome) remote.Result {
	if out == nil {
		return remote.Result{}
	}
	hs := make([]remote.HostResult, len(out.Hosts))
	for i, h := range out.Hosts {
		hr := remote.HostResult{Host: h.Host, Duration: h.Duration, Class: h.Class, Err: h.Err, Status: remote.StatusFailed}
		switch h.Status {
		case deploy.HostOK:
			hr.Status = remote.StatusOK
		case deploy.HostCancelled:
			hr.Status = remote.StatusCancelled
		}
		hs[i] = hr
	}
	return remote.NewResult(hs, out.Timing.Total)
}

// errText is err for the screen, with what was cancelled said plainly.
func errText(err error) string {
	if errors.Is(err, context.Canceled) {
		return store.ReleaseAborted.String()
	}
	return err.Error()
}

// outcomeLines are a deploy's or rollback's summary: the record, then
// each host's result, failures first.
func outcomeLines(st common.Styles, out *deploy.Outcome, err error) []string {
	var lines []string
	if out == nil {
		var changed *deploy.FleetChangedError
		switch {
		case errors.As(err, &changed):
			// Every change on its own line: the operator must see them all.
			lines = append(lines, st.Error.Render(fmt.Sprintf("did not start: the fleet changed since the preview of %s on %s:", changed.App, changed.Env)))
			for _, c := range changed.Changes {
				lines = append(lines, st.Error.Render("  "+c))
			}
			return append(lines, st.Warn.Render("no host was touched: preview again"))
		case err != nil:
			return []string{st.Error.Render("did not start: " + errText(err))}
		}
		return nil
	}
	res := st.OK
	if out.Result.Failed() {
		res = st.Error
	}
	lines = append(lines, res.Render(fmt.Sprintf("release %s: %s in %s", out.ReleaseID, out.Result.Words(), common.Elapsed(out.Timing.Total)))+
		st.Muted.Render(fmt.Sprintf(" · run %d", out.RunID)))
	if err != nil {
		lines = append(lines, st.Error.Render("error: "+errText(err)))
	}
	for _, failed := range []bool{true, false} {
		for _, h := range out.Hosts {
			if (h.Status != deploy.HostOK) != failed {
				continue
			}
			// One wording everywhere (deploy.HostWords): the step that
			// failed, the host's reason, what the switch back left.
			s := fmt.Sprintf("  %-16s %8s  %s", h.Host, common.Elapsed(h.Duration), h.Words())
			if failed {
				lines = append(lines, st.Error.Render(s))
			} else {
				lines = append(lines, st.OK.Render(s))
			}
		}
	}
	for _, n := range out.Notes {
		lines = append(lines, st.Warn.Render("note: "+n))
	}
	return lines
}
