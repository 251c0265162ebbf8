package store

import (
	"context"
	"crypto/sha1"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/internal/testenv"
)

// BenchmarkRecordQueries100k: the queries of `opsui runs`, `releases`,
// `releases --commit` and the deploy's own look-ups on a store holding
// 100 000 runs (two hosts each, five output chunks per host: 1 000 000
// chunks) and 100 000 releases, on SQLite and on PostgreSQL (the team's
// store, issue 17). OPSUI_BENCH_RECORDS changes the count. Each figure is
// one query's time (ns/op).
func BenchmarkRecordQueries100k(b *testing.B) {
	n := testenv.EnvInt(b, "OPSUI_BENCH_RECORDS", 100_000)
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			target := b.TempDir() + "/opsui.db"
			if backend == "postgres" {
				target = pgtest.Shared(b).NewDatabase(b)
			}
			s, err := Open(context.Background(), target)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			start := time.Now()
			seedRecords(b, s, n)
			b.Logf("%s: %d runs, %d output chunks and %d releases seeded in %v", backend, n, n*2*chunksPerHost, n, time.Since(start).Round(time.Millisecond))
			commit := commitOf(n / 2)[:7]
			for _, q := range []struct {
				name string
				fn   func() (int, error)
			}{
				{"runs", func() (int, error) { rs, err := s.ListRuns(ctx, RunFilter{Limit: 50}); return len(rs), err }},
				{"runs-kind", func() (int, error) {
					rs, err := s.ListRuns(ctx, RunFilter{Kind: KindDeploy, Limit: 50})
					return len(rs), err
				}},
				{"runs-host", func() (int, error) {
					rs, err := s.ListRuns(ctx, RunFilter{Host: "web7", Limit: 50})
					return len(rs), err
				}},
				{"releases", func() (int, error) { rs, err := s.ListReleases(ctx, "shop", "production", 50); return len(rs), err }},
				{"releases-commit", func() (int, error) { rs, err := s.ReleasesByCommit(ctx, commit); return len(rs), err }},
				{"latest-good", func() (int, error) { _, err := s.LatestRelease(ctx, "shop", "production", true); return 1, err }},
				{"past-run-output", func() (int, error) { // a past run opened: its hosts, then each one's output
					hs, err := s.RunHosts(ctx, int64(n/2))
					if err != nil {
						return 0, err
					}
					got := 0
					for _, h := range hs {
						cs, err := s.Output(ctx, h.ID)
						if err != nil {
							return 0, err
						}
						got += len(cs)
					}
					return got, nil
				}},
			} {
				b.Run(q.name, func(b *testing.B) {
					for b.Loop() {
						got, err := q.fn()
						if err != nil || got == 0 {
							b.Fatalf("%s: %d rows, %v", q.name, got, err)
						}
					}
				})
			}
		})
	}
}

// chunksPerHost is how many output chunks each seeded run host has.
const chunksPerHost = 5

// seedRecords inserts n finished runs on two hosts each, with
// chunksPerHost output chunks per host, and n releases of shop in
// production (every fourth failed), in batches.
func seedRecords(b *testing.B, s *Store, n int) {
	b.Helper()
	ctx := context.Background()
	const batch = 500
	kinds := []string{KindDeploy, KindExec, KindExec, KindFlush}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		var runs, hosts, rels, outs []string
		var runArgs, hostArgs, relArgs, outArgs []any
		for i := lo; i < hi; i++ {
			at := t0.Add(time.Duration(i) * time.Minute).UnixMilli()
			id := int64(i + 1)
			runs = append(runs, "(?, ?, 'shop', 'production', 'alice', 'uname -n', ?, ?, 'ok')")
			runArgs = append(runArgs, id, kinds[i%len(kinds)], at, at+1000)
			for k, h := range []string{fmt.Sprintf("web%d", i%20), fmt.Sprintf("web%d", (i+1)%20)} {
				hostID := 2*id - 1 + int64(k)
				hosts = append(hosts, "(?, ?, ?, 'ok', ?)")
				hostArgs = append(hostArgs, hostID, id, h, chunksPerHost*len(chunkData))
				for seq := range chunksPerHost {
					outs = append(outs, "(?, ?, 'stdout', ?, ?)")
					outArgs = append(outArgs, hostID, seq+1, at+int64(seq), chunkData)
				}
			}
			result := ReleaseSuccess
			if i%4 == 3 {
				result = ReleaseFailed
			}
			rels = append(rels, "('shop', 'production', ?, ?, 'alice', ?, ?, ?)")
			relArgs = append(relArgs, t0.Add(time.Duration(i)*time.Minute).Format("20060102150405"), commitOf(i), at, at+1000, string(result))
		}
		for _, ins := range []struct {
			q    string
			args []any
		}{
			{"INSERT INTO runs (id, kind, app, env, operator, command, started_at, finished_at, result) VALUES " + strings.Join(runs, ", "), runArgs},
			{"INSERT INTO run_hosts (id, run_id, host, status, recorded_bytes) VALUES " + strings.Join(hosts, ", "), hostArgs},
			{"INSERT INTO run_output (run_host_id, seq, stream, at, data) VALUES " + strings.Join(outs, ", "), outArgs},
			{"INSERT INTO releases (app, env, release_id, commit_hash, operator, started_at, finished_at, result) VALUES " + strings.Join(rels, ", "), relArgs},
		} {
			if _, err := s.exec(ctx, s.db, ins.q, ins.args...); err != nil {
				b.Fatalf("seed: %v", err)
			}
		}
	}
	if s.backend == Postgres {
		if _, err := s.db.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('runs', 'id'), (SELECT MAX(id) FROM runs)); SELECT setval(pg_get_serial_sequence('run_hosts', 'id'), (SELECT MAX(id) FROM run_hosts)); ANALYZE`); err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
}

// commitOf is the seeded release i's commit: a hash, as git's are spread.
func commitOf(i int) string {
	return fmt.Sprintf("%x", sha1.Sum([]byte(strconv.Itoa(i))))
}

// chunkData is each seeded chunk's bytes: a line of command output.
var chunkData = []byte("Linux web7 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC x86_64\n")
