package run

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
	"github.com/opsui/opsui/ui/common"
)

// TestFollowTeammatesRunOnSharedSQLite: alice's recorder writes her
// deploy into a SQLite file; bob's console, with a store handle of its
// own on the same file, opens it while it runs: the run view shows what
// was recorded so far, then alice's new lines, her host's step and her
// batch as they are written, says read-only when bob presses cancel, and
// ends with her run's result.
func TestFollowTeammatesRunOnSharedSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "team.db")
	open := func() *store.Store {
		st, err := store.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	aliceStore, bobStore := open(), open()
	rec, err := record.StartRecorder(ctx, aliceStore, store.NewRun{Kind: store.KindDeploy, App: "shop", Env: "production",
		Operator: "alice@lap", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	say := func(host string, lines ...string) {
		for _, l := range lines {
			rec.Event(remote.Event{Host: host, Kind: remote.EventStdout, Line: l, Raw: []byte(l + "\n"), Time: time.Now()})
		}
	}
	rec.Event(remote.Event{Host: "web1", Kind: remote.EventStage, Line: "unpack", Time: time.Now()})
	say("web1", "unpacked before bob came")
	testenv.WaitFor(t, time.Minute, "alice's first line recorded", func() bool {
		st, err := bobStore.RunState(ctx, rec.RunID())
		return err == nil && st.Hosts[0].LastSeq >= 2
	})

	// Output alice's recorder counted and has not written yet is no cut.
	st, err := bobStore.RunState(ctx, rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	row := st.Hosts[0].RunHost
	row.OutputBytes = row.RecordedBytes + 4096
	if err := aliceStore.UpdateRunHost(ctx, row); err != nil {
		t.Fatal(err)
	}

	bob := &ops.Service{Store: bobStore, Operator: "bob@box"}
	f, err := LoadFollow(rec.RunID(), bob.Run, bob.FollowRun)
	if err != nil {
		t.Fatal(err)
	}
	defer f.StopFollow()
	v := New(common.NewContext(themes.Dark().WithoutColor()), testKeys(), f)
	v.SetSize(160, 30)
	view := v.View()
	for _, want := range []string{"run 1 · alice@lap's deploy shop → production · live, read-only", "unpacked before bob came", "web1 · running · unpack"} {
		if !strings.Contains(view, want) {
			t.Errorf("bob's view lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "recorded") || strings.Contains(view, "cut") {
		t.Errorf("output not written yet reads as a cut:\n%s", view)
	}
	v, _ = v.Update(tea.KeyPressMsg{Code: 'c', Text: "c"})
	if view := v.View(); !strings.Contains(view, "read-only: alice@lap's run") || strings.Contains(view, "cancel the run on every host?") {
		t.Errorf("cancel on alice's run:\n%s", view)
	}

	// bob's console applies each update as it comes (the root does it for him).
	next := FollowNext(f)
	until := func(what string, cond func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(2 * time.Minute); !cond(v.View()); {
			if next == nil {
				t.Fatalf("the follow ended before %s:\n%s", what, v.View())
			}
			got := make(chan tea.Msg, 1)
			go func(cmd tea.Cmd) { got <- cmd() }(next)
			select {
			case msg := <-got:
				next = ApplyFollow(msg.(FollowMsg))
			case <-time.After(time.Until(deadline)):
				t.Fatalf("bob never saw %s:\n%s", what, v.View())
			}
		}
	}
	say("web1", "migrating while bob watches")
	rec.Batch(1, 2)
	until("alice's new line and batch", func(s string) bool {
		return strings.Contains(s, "migrating while bob watches") && strings.Contains(s, "production, batch 1/2 · live, read-only")
	})
	rec.Event(remote.Event{Host: "web2", Kind: remote.EventStage, Line: "switch", Time: time.Now()})
	say("web2", "web2 switched")
	rec.Event(remote.Event{Host: "web2", Kind: remote.EventExited, Time: time.Now(), Duration: time.Second})
	until("web2 done", func(s string) bool { return strings.Contains(s, "web2 switched") && strings.Contains(s, "web2 · ok") })
	rec.Event(remote.Event{Host: "web1", Kind: remote.EventExited, Code: 1, Class: remote.ClassExit, Time: time.Now()})
	res := remote.NewResult([]remote.HostResult{{Host: "web1", Status: remote.StatusFailed, Code: 1, Class: remote.ClassExit},
		{Host: "web2", Status: remote.StatusOK, Duration: time.Second}}, 2*time.Second)
	if err := rec.Finish(ctx, res); err != nil {
		t.Fatal(err)
	}
	until("the end", func(s string) bool {
		return strings.Contains(s, "alice@lap's deploy shop → production ended: partial")
	})
	if view := v.View(); !strings.Contains(view, "done: "+res.Summary()) /* the words alice's screen ends with */ || strings.Contains(view, "live, read-only") {
		t.Errorf("the ended run:\n%s", view)
	}
	if next != nil {
		t.Error("the follow goes on after the run ended")
	}
}
