package logs

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops/logs"
)

// tieEvery is how often the view has its error groups tied to releases
// (a store write and, for a host not read lately, a probe).
const tieEvery = 2 * time.Second

// tieTimeout bounds one tie: a host that hangs must not hold the column.
const tieTimeout = 30 * time.Second

// TieFunc records the error groups' sightings and returns, by group key,
// the release each was first seen in as screens say it ("20261204171534
// (edc515f8aa11)"). It runs inside a tea.Cmd (ops.ErrorTies.Tie).
type TieFunc func(ctx context.Context, groups []logs.Group) (map[string]string, error)

// FirstSeenMsg carries a tie's answer to logs view ID.
type FirstSeenMsg struct {
	ID    int
	Where map[string]string
	Err   error
}

// firstSeen is the view's "first seen in" column: where each group was
// first seen, as last answered.
type firstSeen struct {
	fn    TieFunc
	where map[string]string
	busy  bool
	last  time.Time
	err   error
}

// SetTie turns the errors panel's "first seen in" column on: fn is asked
// every tieEvery while there are error groups.
func (v *Model) SetTie(fn TieFunc) { v.first.fn = fn }

// tieCmd asks for the groups' first sightings when the column is on, no
// tie is under way, and the last was tieEvery ago or more.
func (v *Model) tieCmd() tea.Cmd {
	f := &v.first
	if f.fn == nil || f.busy || time.Since(f.last) < tieEvery || v.buf.ErrorGroups() == 0 {
		return nil
	}
	f.busy, f.last = true, time.Now()
	groups, fn, id := v.buf.Top(0), f.fn, v.id
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), tieTimeout)
		defer cancel()
		where, err := fn(ctx, groups)
		return FirstSeenMsg{ID: id, Where: where, Err: err}
	}
}

// firstSeenDone takes a tie's answer; a failed one keeps what was known
// and says why in the panel's title.
func (v *Model) firstSeenDone(msg FirstSeenMsg) {
	f := &v.first
	f.busy, f.err = false, msg.Err
	if msg.Err == nil {
		f.where = msg.Where
	}
}

// firstSeenCell is group g's "first seen in" cell: "" when the column
// is off, "…" while not known yet, "-" for an access-log status (not an
// error signature: the watch counts those as a rate).
func (v *Model) firstSeenCell(g logs.Group) string {
	if v.first.fn == nil {
		return ""
	}
	if g.IsAccess() {
		return "-"
	}
	key := g.Key
	if w, ok := v.first.where[key]; ok {
		return w
	}
	return "…"
}

// firstSeenNote is said in the errors panel's title when the last tie
// failed.
func (v *Model) firstSeenNote() string {
	if v.first.fn == nil || v.first.err == nil {
		return ""
	}
	return " · first seen: " + v.first.err.Error()
}
