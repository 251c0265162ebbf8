package record

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func openStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "opsui.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, path
}

// recorded returns a host's recorded output per stream and checks its
// chunks are numbered 1, 2, 3...
func recorded(t *testing.T, st *store.Store, row store.RunHost) map[string][]byte {
	t.Helper()
	chunks, err := st.Output(context.Background(), row.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for i, c := range chunks {
		if c.Seq != int64(i+1) {
			t.Fatalf("%s: chunk %d has seq %d", row.Host, i, c.Seq)
		}
		out[c.Stream] = append(out[c.Stream], c.Data...)
	}
	return out
}

func TestRecorder(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	st, _ := openStore(t)
	names := []string{}
	for _, tg := range e.Targets {
		names = append(names, tg.Name)
	}
	cmd := `seq 1 50000; echo oops >&2; head -c 1000000 /dev/zero | tr '\0' x; echo; [ "$(uname -n)" != web2 ] || exit 3`
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Operator: "tester", Command: cmd, Hosts: names})
	if err != nil {
		t.Fatal(err)
	}
	res, err := remote.Run(t.Context(), e.Pool, e.Targets, cmd, remote.RunOptions{}, rec.Event)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Finish(t.Context(), res); err != nil {
		t.Fatal(err)
	}

	run, err := st.Run(t.Context(), rec.RunID())
	if err != nil {
		t.Fatal(err)
	}
	if run.Result != store.RunPartial || run.Summary != res.Summary() || run.Command != cmd || run.FinishedAt == 0 {
		t.Errorf("run %+v", run)
	}
	rows, _ := st.RunHosts(t.Context(), run.ID)
	var seq bytes.Buffer
	for i := 1; i <= 50000; i++ {
		fmt.Fprintln(&seq, i)
	}
	wantOut := seq.String() + strings.Repeat("x", 1000000) + "\n"
	for _, row := range rows {
		wantStatus, wantCode, wantClass := store.HostOK, 0, ""
		if row.Host == "web2" {
			wantStatus, wantCode, wantClass = store.HostFailed, 3, string(remote.ClassExit)
		}
		if row.Status != wantStatus || row.ExitCode == nil || *row.ExitCode != wantCode || row.ErrorClass != wantClass ||
			row.StartedAt == 0 || row.FinishedAt == 0 {
			t.Errorf("row %+v", row)
		}
		out := recorded(t, st, row)
		if string(out["stdout"]) != wantOut || string(out["stderr"]) != "oops\n" {
			t.Errorf("%s: recorded %d stdout bytes, %q on stderr; want %d", row.Host, len(out["stdout"]), out["stderr"], len(wantOut))
		}
	}
	s := rec.Stats()
	if s.WriteErrors != 0 || s.Lost != 0 || s.Bytes != 2*int64(len(wantOut)+5) {
		t.Errorf("stats %+v", s)
	}
	t.Logf("recorder stats: %+v", s)
}

func TestRecorderCancelledAndSkipped(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	st, _ := openStore(t)
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "sleep 300", Hosts: []string{"web1", "web2", "never"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	log := remotetest.NewLog()
	go func() { log.WaitStarted(t, 2); cancel() }()
	res, _ := remote.Run(ctx, e.Pool, e.Targets, "echo partial; sleep 300", remote.RunOptions{}, func(ev remote.Event) { log.Emit(ev); rec.Event(ev) })
	if err := rec.Finish(t.Context(), res); err != nil {
		t.Fatal(err)
	}
	run, _ := st.Run(t.Context(), rec.RunID())
	if run.Result != store.RunCancelled || !strings.HasPrefix(run.Summary, "2 failed (2 cancelled), 0 ok") {
		t.Errorf("run %+v", run)
	}
	rows, _ := st.RunHosts(t.Context(), run.ID)
	for _, row := range rows {
		want := store.HostCancelled
		if row.Host == "never" {
			want = store.HostSkipped
		}
		if row.Status != want || row.ExitCode != nil {
			t.Errorf("row %+v", row)
		}
		if row.Host != "never" && string(recorded(t, st, row)["stdout"]) != "partial\n" {
			t.Errorf("%s: output before the cancel not recorded", row.Host)
		}
	}
}

// feed sends n output events of size bytes for host, in order.
func feed(rec *Recorder, host string, n, size int) []byte {
	var all []byte
	for i := range n {
		line := fmt.Appendf(nil, "%0*d\n", size-1, i)
		all = append(all, line...)
		rec.Event(remote.Event{Host: host, Kind: remote.EventStdout, Time: time.Now(), Line: string(line), Raw: line})
	}
	return all
}

// TestRecorderBackpressure holds the database's write lock from another
// connection (as another opsui process would) while output pours in: the
// recorder must make the producer wait, and lose nothing.
func TestRecorderBackpressure(t *testing.T) {
	t.Parallel()
	st, path := openStore(t)
	other, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "x", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	locked := make(chan struct{})
	go other.Transaction(t.Context(), func(tx *sqlx.Tx) error {
		tx.Exec(`UPDATE runs SET summary = 'locked'`)
		close(locked)
		time.Sleep(time.Second)
		return nil
	})
	<-locked
	start := time.Now()
	want := feed(rec, "h", 20000, 512)
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("feeding took %v: no backpressure while the store was locked", took)
	}
	rec.Event(remote.Event{Host: "h", Kind: remote.EventExited, Time: time.Now()})
	rec.Event(remote.Event{Host: "nobody", Kind: remote.EventStdout, Raw: []byte("x")})
	if err := rec.Finish(t.Context(), remote.Result{}); err != nil {
		t.Fatal(err)
	}
	rec.Event(remote.Event{Host: "h", Kind: remote.EventStdout, Raw: []byte("late")}) // ignored, not a panic
	rows, _ := st.RunHosts(t.Context(), rec.RunID())
	if got := recorded(t, st, rows[0])["stdout"]; !bytes.Equal(got, want) {
		t.Errorf("recorded %d bytes, want %d", len(got), len(want))
	}
	s := rec.Stats()
	if s.Stalls == 0 || s.Lost != 0 || s.Ignored != 2 {
		t.Errorf("stats %+v", s)
	}
	t.Logf("stats %+v", s)
}

// TestRecorderWriteErrors closes the database under the recorder: every
// failed write is counted and Finish reports it.
func TestRecorderWriteErrors(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "x", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	feed(rec, "h", 300, 512) // more than one flush
	err = rec.Finish(t.Context(), remote.Result{})
	s := rec.Stats()
	if err == nil || s.WriteErrors < 2 || s.Lost < 3 || !strings.Contains(err.Error(), "records lost") {
		t.Errorf("Finish: %v; stats %+v", err, s)
	}
}

// TestRecorderCutsAtTheRecordLimit runs a command whose output is larger
// than the record limit on one real host and smaller on the other: the
// first records exactly the first limit bytes (the cut falls inside a
// line), then one meta line marking the cut, and counts every byte; the
// other is recorded whole.
func TestRecorderCutsAtTheRecordLimit(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	st, _ := openStore(t)
	const limit = 100_000
	st.SetOutputPolicy(store.OutputPolicy{RecordLimit: limit})
	cmd := `if [ "$(uname -n)" = web1 ]; then seq 1 50000; else seq 1 1000; fi`
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: cmd, Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := remote.Run(t.Context(), e.Pool, e.Targets, cmd, remote.RunOptions{}, rec.Event)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Finish(t.Context(), res); err != nil {
		t.Fatal(err)
	}
	seqOut := func(n int) []byte {
		var b bytes.Buffer
		for i := 1; i <= n; i++ {
			fmt.Fprintln(&b, i)
		}
		return b.Bytes()
	}
	full, small := seqOut(50000), seqOut(1000)
	if full[limit-1] == '\n' {
		t.Fatal("the test wants the cut inside a line")
	}
	rows, _ := st.RunHosts(t.Context(), rec.RunID())
	for _, row := range rows {
		chunks, err := st.Output(t.Context(), row.ID)
		if err != nil {
			t.Fatal(err)
		}
		out := recorded(t, st, row)
		switch row.Host {
		case "web1":
			last := chunks[len(chunks)-1]
			wantMarker := "… output cut at 97.7 KiB: 282.1 KiB in all, 188894 more bytes not recorded\n"
			if !bytes.Equal(out["stdout"], full[:limit]) || last.Stream != "meta" || string(last.Data) != wantMarker ||
				string(out["meta"]) != wantMarker {
				t.Errorf("web1: recorded %d stdout bytes (want the first %d of %d), last chunk %s %q", len(out["stdout"]), limit, len(full), last.Stream, last.Data)
			}
			if row.OutputBytes != int64(len(full)) || row.RecordedBytes != limit || !row.Cut() {
				t.Errorf("web1 counts: %d output, %d recorded; want %d, %d", row.OutputBytes, row.RecordedBytes, len(full), limit)
			}
		case "web2":
			if !bytes.Equal(out["stdout"], small) || len(out["meta"]) != 0 || row.OutputBytes != int64(len(small)) || row.Cut() {
				t.Errorf("web2: recorded %d bytes, meta %q, counts %d/%d; want all %d", len(out["stdout"]), out["meta"], row.RecordedBytes, row.OutputBytes, len(small))
			}
		}
	}
	run, _ := st.Run(t.Context(), rec.RunID())
	if run.OutputBytes != int64(len(full)+len(small)) || run.RecordedBytes != int64(limit+len(small)) {
		t.Errorf("run counts %d/%d", run.RecordedBytes, run.OutputBytes)
	}
	if s := rec.Stats(); s.Cut != 1 || s.Lost != 0 || s.Bytes != int64(limit+len(small)) {
		t.Errorf("stats %+v", s)
	}
	if got := RecordedOf(run.RecordedBytes, run.OutputBytes); got != "101.5 KiB of 285.9 KiB recorded" {
		t.Errorf("RecordedOf: %s", got)
	}
}

// TestRecorderNoLimit: "none" records everything.
func TestRecorderNoLimit(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	st.SetOutputPolicy(store.OutputPolicy{RecordLimit: -1})
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "x", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	want := feed(rec, "h", 40000, 512) // 20 MB: more than the default limit
	if err := rec.Finish(t.Context(), remote.Result{}); err != nil {
		t.Fatal(err)
	}
	rows, _ := st.RunHosts(t.Context(), rec.RunID())
	if got := recorded(t, st, rows[0]); !bytes.Equal(got["stdout"], want) || len(got["meta"]) != 0 || rows[0].Cut() {
		t.Errorf("recorded %d of %d bytes", len(got["stdout"]), len(want))
	}
}

// TestRecorderAppliesRetention: starting a run prunes the output the
// store's retention no longer keeps, before the new run is recorded.
func TestRecorderAppliesRetention(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	old, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "x", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	feed(old, "h", 10, 100)
	if err := old.Finish(t.Context(), remote.Result{}); err != nil {
		t.Fatal(err)
	}
	st.DB().MustExec(`UPDATE runs SET started_at = ? WHERE id = ?`, store.MillisOf(time.Now().Add(-100*24*time.Hour)), old.RunID())
	st.SetOutputPolicy(store.OutputPolicy{KeepFor: 30 * 24 * time.Hour})
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "y", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	feed(rec, "h", 10, 100)
	if err := rec.Finish(t.Context(), remote.Result{}); err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Run(t.Context(), old.RunID()); !r.OutputPruned {
		t.Error("the 100-day-old run's output was kept")
	}
	if r, _ := st.Run(t.Context(), rec.RunID()); r.OutputPruned || r.RecordedBytes != 1000 {
		t.Errorf("the new run: %+v", r)
	}
}

// TestRecorderSaysCutAtOnce: the cut is in the record as soon as it
// happens (the host's byte count passes what is kept), not only when the
// host finishes, so a run whose opsui is killed still shows it.
func TestRecorderSaysCutAtOnce(t *testing.T) {
	t.Parallel()
	st, _ := openStore(t)
	st.SetOutputPolicy(store.OutputPolicy{RecordLimit: 1000})
	rec, err := StartRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Command: "x", Hosts: []string{"h"}})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Finish(t.Context(), remote.Result{})
	feed(rec, "h", 30, 100)
	deadline := time.Now().Add(5 * time.Second)
	for {
		rows, err := st.RunHosts(t.Context(), rec.RunID())
		if err != nil {
			t.Fatal(err)
		}
		if rows[0].Cut() && rows[0].OutputBytes >= 1100 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record does not show the cut before the host finished: %+v", rows[0])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
