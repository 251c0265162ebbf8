package deploy

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// TestLaneOrder pins how a host's events from its own steps (main) and
// from the migration alongside (side) reach its pane: the side's after the
// host's own steps alongside, the final event last, whichever ends first.
func TestLaneOrder(t *testing.T) {
	ev := func(kind remote.EventKind, line string) remote.Event {
		return remote.Event{Host: "web1", Kind: kind, Line: line}
	}
	out := func(line string) remote.Event { return ev(remote.EventStdout, line) }
	final := ev(remote.EventExited, "final")
	type step struct {
		do string // main, side, begin, join, end
		ev remote.Event
	}
	cases := []struct {
		name  string
		steps []step
		want  string
	}{
		{"side ends first", []step{{do: "begin"}, {do: "side", ev: out("m1")}, {do: "main", ev: out("c1")},
			{do: "side", ev: final}, {do: "end"}, {do: "main", ev: out("c2")}, {do: "join"}},
			"c1 c2 m1 final"},
		{"main ends first", []step{{do: "begin"}, {do: "main", ev: out("c1")}, {do: "side", ev: out("m1")},
			{do: "join"}, {do: "side", ev: out("m2")}, {do: "end"}},
			"c1 m1 m2"},
		{"main fails while the side runs", []step{{do: "begin"}, {do: "side", ev: out("m1")}, {do: "main", ev: final},
			{do: "join"}, {do: "side", ev: out("m2")}, {do: "end"}},
			"m1 m2 final"},
		{"no side", []step{{do: "main", ev: out("c1")}, {do: "main", ev: final}, {do: "join"}},
			"c1 final"},
		{"side after the join", []step{{do: "main", ev: out("c1")}, {do: "join"}, {do: "begin"},
			{do: "side", ev: out("m1")}, {do: "side", ev: final}, {do: "main", ev: out("late")}, {do: "end"}},
			"c1 m1 late final"},
	}
	for _, c := range cases {
		var got []string
		emit := func(ev remote.Event) { got = append(got, ev.Line) }
		l := &lane{}
		for _, s := range c.steps {
			switch s.do {
			case "main", "side":
				l.route(s.ev, s.do == "side", emit)
			case "begin":
				l.begin()
			case "join":
				l.join(emit)
			case "end":
				l.end(emit)
			}
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%s: emitted %q, want %q", c.name, g, c.want)
		}
	}
}
