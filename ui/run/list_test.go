package run

import (
	"context"
	"strings"
	"testing"

	"charm.land/bubbles/v2/key"

	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// An answer to an older read of the list is dropped: the newest wins,
// whatever order they come back in.
func TestListDropsStaleAnswers(t *testing.T) {
	calls := 0
	list := func(context.Context, int) ([]store.Run, error) {
		calls++
		return []store.Run{{ID: int64(90 + calls), Kind: "exec", Result: "ok"}}, nil
	}
	b := func(keys ...string) key.Binding { return key.NewBinding(key.WithKeys(keys...)) }
	l := NewList(common.NewContext(themes.Dark().WithoutColor()), ListKeyMap{Up: b("up"), Down: b("down"), Open: b("enter")}, list, nil)
	l.SetSize(100, 10)
	l, older := l.Open()
	l, newer := l.Open()
	newest := newer() // read first: #91
	stale := older()  // read second: #92, for the older request
	l, _ = l.Update(newest)
	l, _ = l.Update(stale)
	if view := l.View(); !strings.Contains(view, "run 91 ") || strings.Contains(view, "run 92 ") {
		t.Errorf("a stale list replaced the newest:\n%s", view)
	}
}

// The past runs list says how much of a cut run was recorded, or that
// its output was pruned.
func TestPastRunLineSaysWhatWasRecorded(t *testing.T) {
	line := pastRunLine(store.Run{ID: 9, Kind: "exec", Result: "ok", OutputBytes: 2 << 30, RecordedBytes: 32 << 20})
	if !strings.HasSuffix(line, " · 32.0 MiB of 2.0 GiB recorded") {
		t.Errorf("past run line %q", line)
	}
	if line := pastRunLine(store.Run{ID: 9, Kind: "exec", Result: "ok", OutputPruned: true}); !strings.HasSuffix(line, " · output pruned") {
		t.Errorf("past run line %q", line)
	}
}

// TestPastRunLineInWords: a past run is "run N", as everywhere, and its
// result is said in words, never the stored "rolled_back".
func TestPastRunLineInWords(t *testing.T) {
	line := pastRunLine(store.Run{ID: 17, Kind: "deploy", Result: store.RunRolledBack, Summary: "2 failed"})
	if !strings.HasPrefix(line, "run 17 ") || !strings.Contains(line, " rolled back ") || strings.Contains(line, "rolled_back") || strings.Contains(line, "#") {
		t.Errorf("past run line %q", line)
	}
}
