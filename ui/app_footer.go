package ui

import (
	"charm.land/bubbles/v2/key"
	"charm.land/lipgloss/v2"

	"github.com/opsui/opsui/ui/common"
)

// footerKey is one key of the fleet's footer: its binding, the short word
// the footer gives it, and its rank (0 is dropped last at narrow widths).
type footerKey struct {
	b     key.Binding
	short string
	rank  int
}

// fleetFooterKeys are the fleet's main actions in the order the footer
// shows them, each ranked: at a narrow width the lowest ranks go first,
// and ? (rank 0) is never dropped.
func (a App) fleetFooterKeys() []footerKey {
	k := a.keys
	return []footerKey{
		{k.Deploy, "deploy", 2}, {k.Rollback, "rollback", 4}, {k.Logs, "logs", 5}, {k.Releases, "releases", 6},
		{k.Exec, "run", 3}, {k.Shell, "shell", 8}, {k.Palette, "commands", 7}, {k.Filter, "filter", 9},
		{k.Select, "select", 10}, {k.Detail, "detail", 12}, {k.PastRuns, "past runs", 11},
		{k.Help, "help", 0}, {k.Quit, "quit", 1},
	}
}

// fleetFooter is the fleet's footer: the main actions that work now (a key
// that is off is left out; ? says why), by rank until the width is full.
func (a App) fleetFooter() string {
	acts := a.fleetActions() // once a frame, not once per key
	var keys []footerKey
	for _, fk := range a.fleetFooterKeys() {
		if !fk.b.Enabled() || len(fk.b.Keys()) == 0 || a.offIn(acts, fk.b) {
			continue
		}
		keys = append(keys, fk)
	}
	return a.fitFooter(keys)
}

// offNow reports whether b is a root action of the fleet that does
// nothing now (read-only, nothing to act on, not wired).
func (a App) offNow(b key.Binding) bool { return a.offIn(a.fleetActions(), b) }

// offIn is offNow with the actions built once by the caller.
func (a App) offIn(acts []rootAction, b key.Binding) bool {
	for _, act := range acts {
		if sameKeys(b, act.b) {
			return a.reason(act) != ""
		}
	}
	return false
}

// rankedFooter draws bs, a component's footer in its own order, fitted
// to the width: the help key stays, the last keys go first.
func (a App) rankedFooter(bs []key.Binding) string {
	keys := make([]footerKey, len(bs))
	for i, b := range bs {
		rank := i + 1
		if sameKeys(b, a.keys.Help) || common.KeyName(b) == common.KeyName(a.keys.Help) {
			rank = 0
		}
		keys[i] = footerKey{b: b, short: b.Help().Desc, rank: rank}
	}
	return a.fitFooter(keys)
}

// fitFooter draws keys in their order, leaving out the highest ranks until
// the line fits the width; rank 0 always stays.
func (a App) fitFooter(keys []footerKey) string {
	bs := func(max int) []key.Binding {
		var out []key.Binding
		for _, fk := range keys {
			if fk.rank <= max {
				out = append(out, common.WithDesc(fk.b, fk.short))
			}
		}
		return out
	}
	top := 0
	for _, fk := range keys {
		top = max(top, fk.rank)
	}
	h := *a.help
	h.SetWidth(0) // fitting is done here, by rank, not by help's ellipsis
	for r := top; r > 0; r-- {
		if line := h.ShortHelpView(bs(r)); lipgloss.Width(line) <= a.ctx.Width {
			return line
		}
	}
	return h.ShortHelpView(bs(0))
}
