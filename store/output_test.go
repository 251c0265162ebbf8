package store

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jmoiron/sqlx"
)

// Migration versions come from the file names: a gap (another branch's
// 0003 not there yet) neither renumbers 0004 nor stops it.
func TestMigrationVersionsComeFromFileNames(t *testing.T) {
	steps, err := migrationsIn(fstest.MapFS{
		"migrations/0004_output.sql": {Data: []byte("four")},
		"migrations/0001_init.sql":   {Data: []byte("one")},
		"migrations/0002_locks.sql":  {Data: []byte("two")},
	}, sqliteSteps)
	if err != nil || len(steps) != 3 || steps[0].version != 1 || steps[1].version != 2 || steps[2].version != 4 || steps[2].sql != "four" {
		t.Fatalf("steps %+v, %v", steps, err)
	}
	for name, fsys := range map[string]fstest.MapFS{
		"no number": {"migrations/init.sql": {}},
		"duplicate": {"migrations/0001_a.sql": {}, "migrations/0001_b.sql": {}},
	} {
		if _, err := migrationsIn(fsys, sqliteSteps); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if SchemaVersion() < 4 {
		t.Errorf("SchemaVersion() = %d, want at least 4 (0004_output_limits.sql)", SchemaVersion())
	}
}

// A database written before the output limits (schema 2) is upgraded in
// place: every host's recorded bytes are counted from its stored output.
func TestUpgradeCountsRecordedOutput(t *testing.T) {
	sqliteOnly(t, "no PostgreSQL store predates schema 5")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	raw, err := sqlx.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"migrations/0001_init.sql", "migrations/0002_locks.sql"} {
		b, _ := migrationFiles.ReadFile(n)
		if _, err := raw.Exec(string(b)); err != nil {
			t.Fatal(err)
		}
	}
	raw.MustExec(`PRAGMA user_version = 2`)
	raw.MustExec(`INSERT INTO runs (id, kind, operator, started_at, result) VALUES (1, 'exec', 'a', 1, 'ok')`)
	raw.MustExec(`INSERT INTO run_hosts (id, run_id, host) VALUES (10, 1, 'web1'), (11, 1, 'web2')`)
	raw.MustExec(`INSERT INTO run_output (run_host_id, seq, stream, at, data) VALUES
		(10, 1, 'meta', 1, X'3d3d20750a'), (10, 2, 'stdout', 1, X'6869210a'), (10, 3, 'stderr', 1, X'6f6f7073')`)
	raw.Close()

	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs, err := s.RunHosts(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if hs[0].RecordedBytes != 8 || hs[0].OutputBytes != 8 || hs[1].RecordedBytes != 0 || hs[0].Cut() {
		t.Errorf("after the upgrade: %+v", hs)
	}
	if r, _ := s.Run(ctx, 1); r.RecordedBytes != 8 || r.OutputBytes != 8 {
		t.Errorf("run %+v", r)
	}
}

// StreamOutput reads a host's output in pages of OutputPageChunks, by
// sequence number: every chunk once, in order, whatever the page
// boundaries and however the hosts' writes interleaved; and the counts
// follow what AppendOutput stored.
func TestStreamOutputPagesInOrder(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	_, hs, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"web1", "web2", "web3"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int64][]string{}
	counts := []int{OutputPageChunks*3 + 5, OutputPageChunks, 0}
	// Interleave the hosts' writes, two chunks at a time, sequence numbers
	// with gaps (as meta chunks of a cut record may leave none).
	for i := 0; ; i++ {
		wrote := false
		for h, row := range hs {
			if 2*i >= counts[h] {
				continue
			}
			var chunks []Chunk
			for j := 2 * i; j < min(2*i+2, counts[h]); j++ {
				data := fmt.Sprintf("%s chunk %d\n", row.Host, j)
				chunks = append(chunks, Chunk{Seq: int64(3 * j), Stream: "stdout", Data: []byte(data)})
				want[row.ID] = append(want[row.ID], data)
			}
			if err := s.AppendOutput(ctx, row.ID, chunks); err != nil {
				t.Fatal(err)
			}
			wrote = true
		}
		if !wrote {
			break
		}
	}
	for _, row := range hs {
		var got []string
		err := s.StreamOutput(ctx, row.ID, func(c Chunk) error {
			got = append(got, string(c.Data))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[row.ID]) {
			t.Errorf("%s: streamed %d chunks, want %d in order:\n%q", row.Host, len(got), len(want[row.ID]), got)
		}
		var size int64
		for _, w := range want[row.ID] {
			size += int64(len(w))
		}
		rows, _ := s.RunHosts(ctx, row.RunID)
		for _, r := range rows {
			if r.ID == row.ID && (r.RecordedBytes != size || r.OutputBytes != size) {
				t.Errorf("%s: counts %d/%d, want %d", row.Host, r.RecordedBytes, r.OutputBytes, size)
			}
		}
	}
	// A page is a page: the first holds exactly OutputPageChunks.
	page, err := s.OutputPage(ctx, hs[0].ID, -1, OutputPageChunks)
	if err != nil || len(page) != OutputPageChunks || page[0].Seq != 0 || page[OutputPageChunks-1].Seq != int64(3*(OutputPageChunks-1)) {
		t.Errorf("first page: %d chunks, %v", len(page), err)
	}
	stop := fmt.Errorf("stop")
	n := 0
	if err := s.StreamOutput(ctx, hs[0].ID, func(Chunk) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("an error from fn: %v after %d chunks", err, n)
	}
}

// retentionFixture records runs of one host: run i started ages[i] ago
// with sizes[i] bytes of output, each with a release. The last run is
// still running (and the oldest).
func retentionFixture(t *testing.T, s *Store, ages []time.Duration, sizes []int) (runs []Run, running Run) {
	t.Helper()
	ctx := context.Background()
	for i := range ages {
		r, hs, err := s.StartRun(ctx, NewRun{Kind: KindDeploy, Operator: "a", Hosts: []string{"web1", "web2"}})
		if err != nil {
			t.Fatal(err)
		}
		data := bytes.Repeat([]byte{'x'}, sizes[i])
		if err := s.AppendOutput(ctx, hs[0].ID, []Chunk{{Seq: 1, Stream: "meta", Data: []byte("== build\n")}, {Seq: 2, Stream: "stdout", Data: data}}); err != nil {
			t.Fatal(err)
		}
		if err := s.FinishRun(ctx, r.ID, RunOK, ""); err != nil {
			t.Fatal(err)
		}
		rel := Release{App: "shop", Env: "production", ReleaseID: strconv.Itoa(i), Commit: "c", Operator: "a", RunID: nullInt(r.ID)}
		if err := s.CreateRelease(ctx, &rel, nil); err != nil {
			t.Fatal(err)
		}
		s.db.MustExec(s.db.Rebind(`UPDATE runs SET started_at = ? WHERE id = ?`), MillisOf(time.Now().Add(-ages[i])), r.ID)
		runs = append(runs, r)
	}
	running, hs, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	s.AppendOutput(ctx, hs[0].ID, []Chunk{{Seq: 1, Stream: "stdout", Data: bytes.Repeat([]byte{'y'}, 1000)}})
	s.db.MustExec(s.db.Rebind(`UPDATE runs SET started_at = 1 WHERE id = ?`), running.ID)
	return runs, running
}

func pruned(t *testing.T, s *Store, runs []Run) []bool {
	t.Helper()
	out := make([]bool, len(runs))
	for i, r := range runs {
		got, err := s.Run(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = got.OutputPruned
		var chunks int
		s.db.Get(&chunks, s.db.Rebind(`SELECT COUNT(*) FROM run_output WHERE run_host_id IN (SELECT id FROM run_hosts WHERE run_id = ?)`), r.ID)
		if (chunks == 0) != got.OutputPruned {
			t.Errorf("run %d: %d chunks, output_pruned %v", i, chunks, got.OutputPruned)
		}
	}
	return out
}

// Retention prunes by age, then the oldest runs beyond the size budget;
// runs, hosts' results and releases stay; a running run is never touched.
func TestApplyRetention(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	s := openTemp(t)
	// Newest first: 1, 5, 10, 100 and 200 days old, 1000 bytes each but the
	// 5-day-old one (3000).
	runs, running := retentionFixture(t, s, []time.Duration{day, 5 * day, 10 * day, 100 * day, 200 * day}, []int{1000, 3000, 1000, 1000, 1000})
	if size, err := s.OutputSize(ctx); err != nil || size.Runs != 6 || size.Bytes != 8000 {
		t.Fatalf("output size %+v, %v", size, err)
	}

	// The defaults: 90 days and 2 GiB; only the two oldest go.
	res, err := s.ApplyRetention(ctx)
	if err != nil || res.Runs != 2 || res.Chunks != 4 || res.Bytes != 2*int64(1000+len("== build\n")) {
		t.Fatalf("default retention: %+v, %v", res, err)
	}
	if got := fmt.Sprint(pruned(t, s, runs)); got != "[false false false true true]" {
		t.Errorf("pruned %s after the default retention", got)
	}
	// Applying it again finds nothing.
	if res, err := s.ApplyRetention(ctx); err != nil || res.Runs != 0 {
		t.Errorf("second retention: %+v, %v", res, err)
	}

	// A budget of 4500 bytes: 6000 are kept (1000 of them the running
	// run's); the 10-day-old run goes, then the 5-day-old one.
	s.SetOutputPolicy(OutputPolicy{KeepFor: -1, MaxBytes: 4500})
	if res, err := s.ApplyRetention(ctx); err != nil || res.Runs != 2 {
		t.Fatalf("budget retention: %+v, %v", res, err)
	}
	if got := fmt.Sprint(pruned(t, s, runs)); got != "[false true true true true]" {
		t.Errorf("pruned %s after the budget", got)
	}
	if size, _ := s.OutputSize(ctx); size.Runs != 2 || size.Bytes != 2000 {
		t.Errorf("output size after the budget: %+v", size)
	}
	// Even a budget smaller than the running run's output leaves it.
	s.SetOutputPolicy(OutputPolicy{KeepFor: -1, MaxBytes: 1})
	if _, err := s.ApplyRetention(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Run(ctx, running.ID); r.OutputPruned || r.RecordedBytes != 1000 {
		t.Errorf("the running run was pruned: %+v", r)
	}
	var releases, hostRows int
	s.db.Get(&releases, `SELECT COUNT(*) FROM releases`)
	s.db.Get(&hostRows, `SELECT COUNT(*) FROM run_hosts`)
	if releases != 5 || hostRows != 11 {
		t.Errorf("retention deleted records: %d releases, %d run hosts", releases, hostRows)
	}
	// Both bounds off: nothing to do.
	s.SetOutputPolicy(OutputPolicy{KeepFor: -1, MaxBytes: -1})
	if res, err := s.ApplyRetention(ctx); err != nil || res.Runs != 0 {
		t.Errorf("no retention: %+v, %v", res, err)
	}
}

// prune --max-size with --older-than: the age rule first, then the budget
// over what is left; a dry run deletes nothing and says the same.
func TestPruneMaxSize(t *testing.T) {
	ctx := context.Background()
	day := 24 * time.Hour
	s := openTemp(t)
	runs, _ := retentionFixture(t, s, []time.Duration{day, 2 * day, 3 * day, 40 * day}, []int{1000, 1000, 1000, 1000})
	opt := PruneOptions{OlderThan: 30 * day, MaxBytes: 2500, DryRun: true}
	dry, err := s.Prune(ctx, opt)
	if err != nil || dry.Runs != 3 {
		t.Fatalf("dry run %+v, %v", dry, err)
	}
	if got := fmt.Sprint(pruned(t, s, runs)); got != "[false false false false]" {
		t.Errorf("a dry run pruned %s", got)
	}
	opt.DryRun = false
	res, err := s.Prune(ctx, opt)
	if err != nil || res != dry {
		t.Fatalf("prune %+v, %v; the dry run said %+v", res, err, dry)
	}
	// 40 days: by age; then 4000 - 1000 kept > 2500: the 3-day-old goes.
	if got := fmt.Sprint(pruned(t, s, runs)); got != "[false true true true]" {
		t.Errorf("pruned %s", got)
	}
}

func TestParseBytesAndAge(t *testing.T) {
	for in, want := range map[string]int64{"16MiB": 16 << 20, "512kib": 512 << 10, "2G": 2 << 30, "1.5 GiB": 3 << 29, "100": 100, "10B": 10, "none": -1, "1TB": 1 << 40} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "-1MiB", "16 furlongs", "MiB", "1e3", "9999999TiB"} {
		if got, err := ParseBytes(in); err == nil {
			t.Errorf("ParseBytes(%q) = %d, accepted", in, got)
		}
	}
	if d, err := ParseAge("90d"); err != nil || d != 90*24*time.Hour {
		t.Errorf("ParseAge(90d) = %v, %v", d, err)
	}
	if d, err := ParseAge("none"); err != nil || d != -1 {
		t.Errorf("ParseAge(none) = %v, %v", d, err)
	}
	if got := (OutputPolicy{}).String(); got != "a run records up to 16.0 MiB of each host's output; output pruned after 90 days, the oldest pruned beyond 2.0 GiB in all" {
		t.Errorf("default policy: %s", got)
	}
}

// OutputTail finds the chunk where a host's last bytes begin, walking back
// over pages of sizes, and counts the output bytes before it (not meta).
func TestOutputTail(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	_, hs, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "a", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	// 600 chunks of 10 bytes (more than one page of sizes), a meta chunk first.
	chunks := []Chunk{{Seq: 1, Stream: "meta", Data: []byte("== build\n")}}
	for i := 2; i <= 601; i++ {
		chunks = append(chunks, Chunk{Seq: int64(i), Stream: "stdout", Data: []byte(fmt.Sprintf("%09d\n", i))})
	}
	if err := s.AppendOutput(ctx, hs[0].ID, chunks); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tail, after, skipped int64
	}{
		{tail: 10, after: 600, skipped: 5990},   // the last chunk
		{tail: 15, after: 599, skipped: 5980},   // a chunk is read whole
		{tail: 3000, after: 301, skipped: 3000}, // beyond the first page of sizes
		{tail: 6009, after: OutputStart},        // everything, the meta chunk too
		{tail: 1 << 30, after: OutputStart},
	} {
		after, skipped, err := s.OutputTail(ctx, hs[0].ID, tc.tail)
		if err != nil || after != tc.after || skipped != tc.skipped {
			t.Errorf("OutputTail(%d) = %d, %d, %v; want %d, %d", tc.tail, after, skipped, err, tc.after, tc.skipped)
		}
		var got []byte
		if err := s.StreamOutputFrom(ctx, hs[0].ID, after, func(c Chunk) error { got = append(got, c.Data...); return nil }); err != nil {
			t.Fatal(err)
		}
		if int64(len(got)) < min(tc.tail, 6009) || !bytes.HasSuffix(got, []byte("000000601\n")) {
			t.Errorf("tail %d: streamed %d bytes", tc.tail, len(got))
		}
	}
}
