package store

import (
	"context"
	"fmt"
	"testing"
)

// TestAppendOutputsManyHosts: chunks of many hosts written together land
// each under its host in order, every host's recorded and output bytes
// count its stdout and stderr (not the meta lines), and a write of more
// rows than one INSERT holds is whole. On both backends.
func TestAppendOutputsManyHosts(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	names := []string{"web1", "web2", "web3"}
	run, hosts, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "alice", Hosts: names})
	if err != nil {
		t.Fatal(err)
	}
	counts := []int{3, outputRowsPerInsert + 7, 0}
	var outs []HostOutput
	for i, h := range hosts {
		o := HostOutput{RunHostID: h.ID}
		for seq := 1; seq <= counts[i]; seq++ {
			stream := "stdout"
			if seq == 1 {
				stream = "meta"
			}
			o.Chunks = append(o.Chunks, Chunk{Seq: int64(seq), Stream: stream, At: 1, Data: []byte(fmt.Sprintf("%s %d\n", h.Host, seq))})
		}
		outs = append(outs, o)
	}
	if err := s.AppendOutputs(ctx, outs); err != nil {
		t.Fatal(err)
	}
	rows, err := s.RunHosts(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range rows {
		cs, err := s.Output(ctx, h.ID)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for j, c := range cs {
			if c.Seq != int64(j+1) || string(c.Data) != fmt.Sprintf("%s %d\n", h.Host, j+1) {
				t.Fatalf("%s: chunk %d is %d %q", h.Host, j, c.Seq, c.Data)
			}
			if c.Stream != "meta" {
				want += int64(len(c.Data))
			}
		}
		if len(cs) != counts[i] || h.RecordedBytes != want || h.OutputBytes != want {
			t.Errorf("%s: %d chunks, recorded %d, output %d; want %d chunks, %d bytes", h.Host, len(cs), h.RecordedBytes, h.OutputBytes, counts[i], want)
		}
	}
	// A second write adds to the counts; output counted ahead (a cut) stays.
	rows[0].OutputBytes = 1000
	if err := s.UpdateRunHost(ctx, rows[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendOutputs(ctx, []HostOutput{{RunHostID: rows[0].ID, Chunks: []Chunk{{Seq: 4, Stream: "stderr", At: 2, Data: []byte("oops\n")}}}}); err != nil {
		t.Fatal(err)
	}
	if h, err := s.RunHosts(ctx, run.ID); err != nil || h[0].RecordedBytes != rows[0].RecordedBytes+5 || h[0].OutputBytes != 1000 {
		t.Errorf("after a second write: %+v, %v", h[0], err)
	}
}
