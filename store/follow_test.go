package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestChunksAfterSeq: a reader that has a host's chunks up to seq N reads
// exactly those after it, and RunState says each host's last seq without
// reading the output, as more is written. On both backends.
func TestChunksAfterSeq(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	run, hosts, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, App: "shop", Env: "production", Operator: "alice", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	write := func(h RunHost, from, to int64) {
		t.Helper()
		var cs []Chunk
		for seq := from; seq <= to; seq++ {
			stream := "stdout"
			if seq%3 == 0 {
				stream = "meta"
			}
			cs = append(cs, Chunk{Seq: seq, Stream: stream, At: Millis(seq), Data: []byte(fmt.Sprintf("%s line %d\n", h.Host, seq))})
		}
		if err := s.AppendOutput(ctx, h.ID, cs); err != nil {
			t.Fatal(err)
		}
	}
	lastSeqs := func() []int64 {
		t.Helper()
		st, err := s.RunState(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, h := range st.Hosts {
			out = append(out, h.LastSeq)
		}
		return out
	}
	if got := lastSeqs(); len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("last seqs before any output: %v", got)
	}
	write(hosts[0], 1, 4)
	write(hosts[1], 1, 1)
	if got := lastSeqs(); got[0] != 4 || got[1] != 1 {
		t.Fatalf("last seqs: %v, want [4 1]", got)
	}
	after := func(h RunHost, seq int64) []int64 {
		t.Helper()
		cs, err := s.OutputPage(ctx, h.ID, seq, OutputPageChunks)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, c := range cs {
			if want := fmt.Sprintf("%s line %d\n", h.Host, c.Seq); string(c.Data) != want {
				t.Errorf("chunk %d of %s = %q, want %q", c.Seq, h.Host, c.Data, want)
			}
			out = append(out, c.Seq)
		}
		return out
	}
	if got := after(hosts[0], 2); fmt.Sprint(got) != "[3 4]" {
		t.Errorf("web1's chunks after 2: %v", got)
	}
	if got := after(hosts[1], 1); len(got) != 0 {
		t.Errorf("web2's chunks after its last: %v", got)
	}
	write(hosts[0], 5, 40)
	if got := lastSeqs(); got[0] != 40 || got[1] != 1 {
		t.Fatalf("last seqs: %v, want [40 1]", got)
	}
	// Page by page from where the reader was: every new chunk once, in order.
	var seen []int64
	for cur := int64(4); ; {
		page := after(hosts[0], cur)
		if len(page) == 0 {
			break
		}
		seen = append(seen, page...)
		cur = page[len(page)-1]
	}
	if len(seen) != 36 || seen[0] != 5 || seen[35] != 40 {
		t.Errorf("web1's chunks after 4: %v", seen)
	}
}

// TestRunBatch: a run's batch is recorded and moves on (one row per run),
// LiveRuns and RunState say it, it stays after the run ends, and a batch
// out of its range is refused with the numbers. On both backends.
func TestRunBatch(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	run, _, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, App: "shop", Env: "production", Operator: "alice", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	live := func() LiveRun {
		t.Helper()
		rs, err := s.LiveRuns(ctx, "", "")
		if err != nil || len(rs) != 1 {
			t.Fatalf("live runs: %v %+v", err, rs)
		}
		return rs[0]
	}
	if r := live(); r.Batch != 0 || r.Batches != 0 {
		t.Errorf("a run before its first batch: batch %d/%d", r.Batch, r.Batches)
	}
	for b := 1; b <= 2; b++ {
		if err := s.SetRunBatch(ctx, run.ID, b, 4); err != nil {
			t.Fatal(err)
		}
		if r := live(); r.Batch != b || r.Batches != 4 {
			t.Errorf("live run: batch %d/%d, want %d/4", r.Batch, r.Batches, b)
		}
	}
	for _, bad := range [][2]int{{0, 4}, {5, 4}, {1, 0}} {
		if err := s.SetRunBatch(ctx, run.ID, bad[0], bad[1]); err == nil {
			t.Errorf("batch %d/%d accepted", bad[0], bad[1])
		}
	}
	if err := s.FinishRun(ctx, run.ID, RunFailed, "1 failed"); err != nil {
		t.Fatal(err)
	}
	st, err := s.RunState(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Batch != 2 || st.Batches != 4 || st.Run.Result != RunFailed || len(st.Hosts) != 1 {
		t.Errorf("the run's state after it ended: %+v", st)
	}
	other, _, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "bob", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s.RunState(ctx, other.ID); err != nil || st.Batch != 0 || st.Batches != 0 {
		t.Errorf("a run without batches: %+v, %v", st, err)
	}
}

// TestWatchRunOutputNotifies: on PostgreSQL a write of a host's row of
// the followed run wakes the watcher at once, with polling set to an
// hour: three writes, three wake-ups, when the start can account for
// only one; so do its batch and its end.
func TestWatchRunOutputNotifies(t *testing.T) {
	postgresOnly(t)
	if !onPostgres() {
		t.Skip("run on the PostgreSQL pass")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := openTemp(t)
	run, hosts, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "alice", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	ch := s.WatchRunOutput(ctx, run.ID, time.Hour)
	<-ch // the first read
	for i := range 3 {
		hosts[0].Status = HostRunning
		if err := s.AppendOutput(ctx, hosts[0].ID, []Chunk{{Seq: int64(i + 1), Stream: "stdout", At: 1, Data: []byte("x\n")}}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("write %d of run %d's output did not wake its watcher", i+1, run.ID)
		}
	}
	// Its batch and its end wake it too (the runs' channel).
	for what, write := range map[string]func() error{
		"its batch": func() error { return s.SetRunBatch(ctx, run.ID, 1, 2) },
		"its end":   func() error { return s.FinishRun(ctx, run.ID, RunOK, "") },
	} {
		if err := write(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-ch:
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not wake run %d's watcher", what, run.ID)
		}
	}
}
