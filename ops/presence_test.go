package ops

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/store"
)

// TestWatchPresence: bob's console learns of alice's run from another
// store connection (another opsui) as it starts, sees its hosts' progress,
// and learns that it ended; bob's own runs are not shown. On PostgreSQL
// the poll is an hour, so only LISTEN/NOTIFY can tell of the start and
// end; SQLite polls.
func TestWatchPresence(t *testing.T) {
	onSharedStore(t, func(t *testing.T, ctx context.Context, backend string, open func() *store.Store, poll time.Duration) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		bobStore, aliceStore := open(), open()
		bob := &Service{Store: bobStore, Operator: "bob@box"}
		updates := bob.WatchPresence(ctx, poll)
		next := func(what string) []Presence {
			t.Helper()
			select {
			case ps := <-updates:
				return ps
			case <-time.After(time.Minute):
				t.Fatalf("no presence update: %s", what)
				return nil
			}
		}
		if ps := next("the first"); len(ps) != 0 {
			t.Fatalf("first presence: %+v, want none", ps)
		}
		if _, _, err := bobStore.StartRun(ctx, store.NewRun{Kind: store.KindExec, Operator: "bob@box", Command: "true"}); err != nil {
			t.Fatal(err)
		}
		run, hosts, err := aliceStore.StartRun(ctx, store.NewRun{Kind: store.KindDeploy, App: "shop", Env: "production",
			Operator: "alice@lap", Hosts: []string{"web1", "web2"}})
		if err != nil {
			t.Fatal(err)
		}
		ps := next("alice's run started")
		if len(ps) != 1 || ps[0].RunID != run.ID || ps[0].String() != "alice@lap: deploy shop → production (0/2 hosts)" {
			t.Fatalf("presence after alice's start: %+v", ps)
		}
		// Her deploy starts its second batch: on PostgreSQL the batch's
		// own notification tells (the poll is an hour).
		if err := aliceStore.SetRunBatch(ctx, run.ID, 2, 4); err != nil {
			t.Fatal(err)
		}
		if ps := next("alice's batch 2/4"); len(ps) != 1 || ps[0].String() != "alice@lap: deploy shop → production, batch 2/4 (0/2 hosts)" {
			t.Fatalf("presence after alice's second batch: %+v", ps)
		}
		if backend == "sqlite" { // progress is polled
			hosts[0].Status = store.HostOK
			if err := aliceStore.UpdateRunHost(ctx, hosts[0]); err != nil {
				t.Fatal(err)
			}
			if ps := next("web1 done"); len(ps) != 1 || ps[0].Done != 1 {
				t.Fatalf("presence after web1: %+v", ps)
			}
		}
		if err := aliceStore.FinishRun(ctx, run.ID, store.RunOK, ""); err != nil {
			t.Fatal(err)
		}
		if ps := next("alice's run ended"); len(ps) != 0 {
			t.Fatalf("presence after alice's end: %+v", ps)
		}
		cancel()
		for range updates { // closed once ctx ends
		}
	})
}

// onSharedStore runs fn on SQLite and on PostgreSQL (backend), with a way to open
// another connection to one store (another operator's opsui) and the poll
// to watch it with: on PostgreSQL an hour, so only notifications can wake
// a watcher; SQLite polls.
func onSharedStore(t *testing.T, fn func(t *testing.T, ctx context.Context, backend string, open func() *store.Store, poll time.Duration)) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			target, poll := filepath.Join(t.TempDir(), "opsui.db"), 50*time.Millisecond
			if backend == "postgres" {
				target, poll = pgtest.New(t), time.Hour
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			fn(t, ctx, backend, func() *store.Store {
				st, err := store.Open(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}, poll)
		})
	}
}
