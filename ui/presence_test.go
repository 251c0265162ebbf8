package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
)

// TestHeaderShowsTeammatesRuns: the header shows the newest run another
// operator has under way, how many more there are, and drops them when
// they end; a console without presence shows none.
func TestHeaderShowsTeammatesRuns(t *testing.T) {
	ch := make(chan []ops.Presence, 1)
	watch := func(ctx context.Context, poll time.Duration) <-chan []ops.Presence { return ch }
	a := newStatusApp(t, 200, 20, Options{Presence: watch})
	step := func(cmd tea.Cmd) tea.Cmd {
		t.Helper()
		next, cmd := a.Update(cmd())
		a = next.(App)
		return cmd
	}
	header := func() string { return strings.SplitN(viewText(a), "\n", 2)[0] }

	wait := step(a.presenceInit())
	alice := ops.Presence{RunID: 7, Operator: "alice@lap", Kind: "deploy", App: "shop", Env: "production", Hosts: 4, Done: 1}
	ch <- []ops.Presence{alice}
	wait = step(wait)
	if h := header(); !strings.Contains(h, "alice@lap: deploy shop → production (1/4 hosts)") || strings.Contains(h, "more") {
		t.Errorf("header %q, want alice's deploy", h)
	}
	ch <- []ops.Presence{alice, {RunID: 8, Operator: "bob@box", Kind: "flush", Env: "staging", Hosts: 2}}
	wait = step(wait)
	if h := header(); !strings.Contains(h, "alice@lap: deploy shop → production (1/4 hosts) +1 more") {
		t.Errorf("header %q, want alice's deploy +1 more", h)
	}
	ch <- []ops.Presence{}
	wait = step(wait)
	if h := header(); strings.Contains(h, "alice") {
		t.Errorf("header %q after the runs ended", h)
	}
	close(ch)
	if cmd := step(wait); cmd != nil {
		t.Error("a closed watch is waited on again")
	}
	if New(Options{}).presenceInit() != nil {
		t.Error("a console without presence starts a watch")
	}
}
