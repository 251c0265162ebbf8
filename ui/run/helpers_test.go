package run

import (
	"charm.land/bubbles/v2/key"

	"github.com/opsui/opsui/ui/internal/uitest"
)

// The helpers shared with the console's tests (ui/internal/uitest).
var (
	keys        = uitest.Keys
	ranAt       = uitest.RanAt
	hostOut     = uitest.Host
	recorded    = uitest.Recorded
	chunk       = uitest.Chunk
	streamedRun = uitest.StreamedRun
)

// testKeys binds the run view's keys as the console's key table does by
// default (ui/keys.go; the console's own tests drive the view through it).
func testKeys() KeyMap {
	b := func(keys ...string) key.Binding { return key.NewBinding(key.WithKeys(keys...)) }
	return KeyMap{Up: b("up", "k"), Down: b("down", "j"), PageUp: b("pgup", "ctrl+u"), PageDown: b("pgdown", "ctrl+d"),
		Top: b("home", "g"), Bottom: b("end", "G"), NextFailed: b("n"), PrevFailed: b("p"), Follow: b("f"),
		CancelRun: b("c"), Confirm: b("y"), Back: b("esc"), Help: b("?"),
		Wrap: b("w"), Left: b("left", "h"), Right: b("right", "l"), Zoom: b("+"), Whole: b("v"), Group: b("t")}
}
