package run

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// A teammate's run under way (another opsui recording into the same
// store) opens followed: the run view fills from its record so far, as
// a replay, then takes each update of ops.Service.FollowRun as it is
// written, until the run ends. It is read-only: nothing of it can be
// cancelled or answered from here.

// FollowFunc follows a recorded run (ops.Service.FollowRun).
type FollowFunc func(ctx context.Context, id int64, after []int64, poll time.Duration, fn func(ops.RunUpdate) error) error

// following is a followed run's state in its feed: who runs it, the
// updates from the follower's goroutine, and how far the run is.
type following struct {
	id             int64
	operator, what string // "alice@lap", "deploy shop → production"
	updates        <-chan followed
	stop           context.CancelFunc
	batch, batches int
	end            string // how the run ended, in its operator's words
	err            error  // the follow stopped on it
}

// followed is one message of the follower's goroutine.
type followed struct {
	u   ops.RunUpdate
	err error
}

// FollowMsg is a followed run's next update, for the root to apply
// (ApplyFollow) to the feed it shows, or to drop (StopFollow).
type FollowMsg struct {
	Feed   *Feed
	next   followed
	closed bool
}

// WithFollow lets the list follow a teammate's run under way instead of
// replaying what it recorded so far; nil: every run is replayed.
func (p List) WithFollow(fn FollowFunc) List {
	p.follow = fn
	return p
}

// followable reports whether run r is another opsui's run under way:
// this process's own runs show in its own run view.
func (p List) followable(r store.Run) bool {
	own := r.PID == os.Getpid() && r.Machine == store.Machine()
	return p.follow != nil && r.Result == store.RunRunning && !own
}

// LoadFollow reads run id's record so far as a replay does, then follows
// it from each host's last chunk read; a run that ended meanwhile is a
// replay. It runs in a command, off the UI's goroutine.
func LoadFollow(id int64, load func(context.Context, int64) (ops.RecordedRun, error), follow FollowFunc) (*Feed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), replayLoadTimeout)
	r, err := load(ctx, id)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	if r.Result == store.RunRunning {
		// A host under way counts output its recorder has not written yet:
		// that is not a cut (the recorder marks a cut when the host ends).
		r.Hosts = slices.Clone(r.Hosts)
		for i, h := range r.Hosts {
			if under := h.Status == store.HostQueued || h.Status == store.HostConnecting || h.Status == store.HostRunning; under {
				r.Hosts[i].OutputBytes = h.RecordedBytes
			}
		}
	}
	after := make([]int64, len(r.Hosts)) // each host's last chunk read
	if stream := r.Stream; stream != nil {
		r.Stream = func(ctx context.Context, tail int64, fn func(int, ops.OutputChunk) error) error {
			return stream(ctx, tail, func(i int, c ops.OutputChunk) error {
				if i >= 0 && i < len(after) {
					after[i] = c.Seq
				}
				return fn(i, c)
			})
		}
	}
	ctx, cancel = context.WithTimeout(context.Background(), replayStreamTimeout)
	f, err := replayFeed(ctx, r)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("read run %d: %w", id, err)
	}
	if r.Result != store.RunRunning {
		return f, nil
	}
	what := r.Kind
	if r.App != "" {
		what += " " + r.App + " → " + r.Env
	} else if r.Env != "" {
		what += " " + r.Env
	}
	fctx, stop := context.WithCancel(context.Background())
	ch := make(chan followed)
	f.done, f.result, f.took, f.grouping = false, remote.Result{}, 0, nil
	f.started = r.StartedAt.Time()
	f.follow = &following{id: r.ID, operator: r.Operator, what: what, updates: ch, stop: stop}
	f.applyFollow(ops.RunUpdate{Run: r.Run, Hosts: r.Hosts}) // the hosts as read, until the first update
	go func() {
		defer close(ch)
		send := func(m followed) error {
			select {
			case ch <- m:
				return nil
			case <-fctx.Done():
				return fctx.Err()
			}
		}
		err := follow(fctx, id, after, 0, func(u ops.RunUpdate) error { return send(followed{u: u}) })
		if err != nil && fctx.Err() == nil {
			_ = send(followed{err: err})
		}
	}()
	return f, nil
}

// FollowNext waits for the followed feed's next update; nil for a feed
// that is not followed.
func FollowNext(f *Feed) tea.Cmd {
	if f == nil || f.follow == nil {
		return nil
	}
	ch := f.follow.updates
	return func() tea.Msg {
		m, ok := <-ch
		return FollowMsg{Feed: f, next: m, closed: !ok}
	}
}

// ApplyFollow applies msg to its feed, on the UI's goroutine, and waits
// for the next update while the run goes on.
func ApplyFollow(msg FollowMsg) tea.Cmd {
	f := msg.Feed
	switch {
	case msg.closed:
		return nil
	case msg.next.err != nil:
		f.mu.Lock()
		f.follow.err = msg.next.err
		f.title = f.follow.title()
		f.mu.Unlock()
		return nil
	}
	f.applyFollow(msg.next.u)
	if msg.next.u.Ended() {
		return nil
	}
	return FollowNext(f)
}

// StopFollow stops following the feed's run (one no longer shown).
func (f *Feed) StopFollow() {
	if f != nil && f.follow != nil {
		f.follow.stop()
	}
}

// ReadOnly is why nothing of the run can be changed from this view
// ("read-only: alice@lap's run"), "" for the session's own runs.
func (f *Feed) ReadOnly() string {
	if f == nil || f.follow == nil {
		return ""
	}
	return "read-only: " + f.follow.operator + "'s run"
}

// applyFollow applies one update: the new output, each host's state as
// its row says, the batch, and the end.
func (f *Feed) applyFollow(u ops.RunUpdate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fl := f.follow
	for _, c := range u.Chunks {
		if c.Host >= 0 && c.Host < len(f.panes) {
			pushRecorded(f.panes[c.Host], c.Chunk)
		}
	}
	for i, h := range u.Hosts {
		if i >= len(f.panes) {
			break
		}
		p := f.panes[i]
		switch h.Status {
		case store.HostQueued:
			p.status = remote.EventQueued
		case store.HostConnecting:
			p.status = remote.EventConnecting
		case store.HostRunning:
			p.status = remote.EventStarted
			if h.Stage != "" {
				p.stage = h.Stage
			}
			if p.started.IsZero() && h.StartedAt != 0 {
				p.started = h.StartedAt.Time()
			}
		default:
			settleRecorded(p, h)
		}
	}
	fl.batch, fl.batches = u.Batch, u.Batches
	if u.Ended() {
		results := make([]remote.HostResult, 0, len(u.Hosts))
		for i, h := range u.Hosts {
			if i < len(f.panes) {
				results = append(results, settleRecorded(f.panes[i], h))
			}
		}
		fl.end = u.End
		f.done, f.result, f.took = true, remote.NewResult(results, u.Run.Took()), u.Run.Took()
	}
	f.title = fl.title()
}

// title names the followed run above its panes: whose, what, its batch,
// and that it is live and read-only; once over, how it ended.
func (fl *following) title() string {
	head := fmt.Sprintf("run %d · %s's %s", fl.id, fl.operator, fl.what)
	switch {
	case fl.err != nil:
		return head + " · following stopped: " + fl.err.Error()
	case fl.end != "":
		return head + " ended: " + fl.end
	}
	return head + ops.BatchWords(fl.batch, fl.batches) + " · live, read-only"
}

// pushRecorded adds a recorded chunk's lines to a host's pane; a meta
// chunk's "== step" is the host's step.
func pushRecorded(p *hostPane, c store.Chunk) {
	for _, line := range outputLines(c.Data) {
		if c.Stream == "meta" {
			if stage, ok := strings.CutPrefix(line, "== "); ok {
				p.stage = stage
			}
		}
		p.lines.Push(strings.Clone(line)) // a kept substring would pin its chunk
	}
}
