package record

import (
	"context"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestRecorderBatch: the batch a deploy starts reaches the store while
// the run goes on (a teammate's presence line reads it there), the last
// one is written by Finish even when it came just before, and a number
// out of range is not recorded.
func TestRecorderBatch(t *testing.T) {
	ctx := context.Background()
	st, _ := openStore(t)
	rec, err := StartRecorder(ctx, st, store.NewRun{Kind: store.KindDeploy, App: "shop", Env: "production", Operator: "alice", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	batch := func() (int, int) {
		t.Helper()
		s, err := st.RunState(ctx, rec.RunID())
		if err != nil {
			t.Fatal(err)
		}
		return s.Batch, s.Batches
	}
	rec.Batch(1, 3)
	testenv.WaitFor(t, time.Minute, "batch 1/3 in the store", func() bool {
		b, n := batch()
		return b == 1 && n == 3
	})
	rec.Batch(0, 3)
	rec.Batch(4, 3)
	rec.Batch(2, 3)
	if err := rec.Finish(ctx, remote.Result{}); err != nil {
		t.Fatal(err)
	}
	if b, n := batch(); b != 2 || n != 3 {
		t.Errorf("after Finish the store has batch %d/%d, want 2/3", b, n)
	}
	if s := rec.Stats(); s.WriteErrors != 0 {
		t.Errorf("write errors: %+v", s)
	}
}
