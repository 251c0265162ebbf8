package deploy

import (
	"context"
	"testing"

	"github.com/opsui/opsui/store"
)

// TestDeployRecordsItsBatches: a rolling deploy of two hosts one at a
// time on real sshd hosts records batch 2/2 as the last it started, a
// deploy of every host at once batch 1/1: what a teammate's presence
// line and followed run show.
func TestDeployRecordsItsBatches(t *testing.T) {
	tb := newTestbed(t, 2)
	ctx := context.Background()
	for _, c := range []struct {
		s          Strategy
		b, batches int
	}{
		{Strategy{Kind: "all"}, 1, 1},
		{Strategy{Kind: "rolling", Batches: Batches{{N: 1}}}, 2, 2},
	} {
		out := tb.deploy("main", c.s)
		if out.Result != store.ReleaseSuccess {
			tb.logf(out)
			t.Fatalf("%s deploy: %s", c.s.Kind, out.Result)
		}
		st, err := tb.st.RunState(ctx, out.RunID)
		if err != nil {
			t.Fatal(err)
		}
		if st.Batch != c.b || st.Batches != c.batches {
			t.Errorf("%s deploy: run %d records batch %d/%d, want %d/%d", c.s.Kind, out.RunID, st.Batch, st.Batches, c.b, c.batches)
		}
	}
}
