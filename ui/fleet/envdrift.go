package fleet

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ui/common"
)

// EnvDriftFunc reads the fleet's env drift (ops.Service.EnvDrift): it
// reads hosts over SSH, so it runs inside a tea.Cmd, never in Update.
type EnvDriftFunc func(ctx context.Context, fleet *inventory.Fleet) (ops.EnvDrift, error)

// EnvDriftMsg carries an env drift read.
type EnvDriftMsg struct {
	Drift ops.EnvDrift
	Err   error
}

// EnvDriftInterval is how often the board reads the env drift again: each
// read opens every host's shared/.env, so it follows the probes at a
// slower pace.
const EnvDriftInterval = time.Minute

// envDriftTimeout bounds one read of the whole fleet's env drift.
const envDriftTimeout = 2 * time.Minute

// envDrift is the board's env drift: what the last read found, per host.
type envDrift struct {
	fn       EnvDriftFunc // nil: not read
	hosts    map[string][]ops.HostEnvDrift
	started  time.Time // the last read's start
	inflight bool
	failed   bool // the last read failed (its error was said once)
}

// SetEnvDrift makes the board read the env drift with fn (nil: never).
func (b *Board) SetEnvDrift(fn EnvDriftFunc) { b.env.fn = fn }

// FetchEnvDrift reads the env drift of fleet when it is due (none read
// yet, or EnvDriftInterval since the last read) and no read is under way.
func (b *Board) FetchEnvDrift(fleet *inventory.Fleet) tea.Cmd {
	e := &b.env
	now := b.now()
	if e.fn == nil || fleet == nil || e.inflight || (!e.started.IsZero() && now.Sub(e.started) < EnvDriftInterval) {
		return nil
	}
	e.inflight, e.started = true, now
	fn := e.fn
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), envDriftTimeout)
		defer cancel()
		d, err := fn(ctx, fleet)
		if err != nil {
			err = fmt.Errorf("env drift: %w", err)
		}
		return EnvDriftMsg{Drift: d, Err: err}
	}
}

// ApplyEnvDrift keeps what a read found; a failed read keeps the last
// one's findings. It returns the error to tell the operator: a failure's
// first, not every repeat of it.
func (b *Board) ApplyEnvDrift(msg EnvDriftMsg) error {
	e := &b.env
	e.inflight = false
	if msg.Err != nil {
		was := e.failed
		e.failed = true
		if was {
			return nil
		}
		return msg.Err
	}
	e.failed = false
	e.hosts = msg.Drift.Hosts
	b.recountEnv()
	return nil
}

// EnvDrift returns how host's environments differ from the fleet file,
// as the last read found.
func (b *Board) EnvDrift(host string) []ops.HostEnvDrift { return b.env.hosts[host] }

// envDriftDetail is the detail pane's part about host's env drift, ""
// when the last read found none.
func envDriftDetail(ctx *common.Context, b *Board, host string, width int) string {
	ds := b.EnvDrift(host)
	if len(ds) == 0 {
		return ""
	}
	st := ctx.Styles
	var out strings.Builder
	out.WriteString(st.Header.Render("env drift"))
	for _, d := range ds {
		out.WriteString("\n" + st.Warn.Render(common.Clip(d.Env+" · "+d.String(), width)))
	}
	return out.String()
}
