package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/jmoiron/sqlx"
)

// HostOutput is chunks of one run host's output to store.
type HostOutput struct {
	RunHostID int64
	Chunks    []Chunk
}

// outputRowsPerInsert bounds the rows of one INSERT: five parameters each,
// under SQLite's 32 766 and PostgreSQL's 65 535.
const outputRowsPerInsert = 1000

// AppendOutputs is AppendOutput for many hosts in one transaction and a
// few statements: one UPDATE of every host's counts and multi-row
// INSERTs of the chunks. A recorder of 200 busy hosts writes in a few
// round trips what took two transactions per host and chunk
// (BenchmarkRecorderIngest: PostgreSQL fell seconds behind).
func (s *Store) AppendOutputs(ctx context.Context, outs []HostOutput) error {
	var counts []any
	var rows []Chunk
	var ids []int64
	for _, o := range outs {
		if len(o.Chunks) == 0 {
			continue
		}
		var n int64
		for _, c := range o.Chunks {
			if c.Stream != "meta" {
				n += int64(len(c.Data))
			}
			rows = append(rows, c)
			ids = append(ids, o.RunHostID)
		}
		counts = append(counts, o.RunHostID, n)
	}
	if len(rows) == 0 {
		return nil
	}
	return s.Transaction(ctx, func(tx *sqlx.Tx) error {
		// VALUES names its columns column1, column2 on both dialects;
		// the casts type PostgreSQL's parameters.
		values := strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT), CAST(? AS BIGINT)), ", len(counts)/2), ", ")
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE run_hosts SET recorded_bytes = recorded_bytes + v.column2,
			output_bytes = `+s.greatest("output_bytes", "recorded_bytes + v.column2")+`
			FROM (VALUES `+values+`) AS v WHERE run_hosts.id = v.column1`), counts...); err != nil {
			return fmt.Errorf("count output: %w", err)
		}
		for from := 0; from < len(rows); from += outputRowsPerInsert {
			to := min(from+outputRowsPerInsert, len(rows))
			args := make([]any, 0, 5*(to-from))
			for i := from; i < to; i++ {
				c := rows[i]
				args = append(args, ids[i], c.Seq, c.Stream, c.At, c.Data)
			}
			q := `INSERT INTO run_output (run_host_id, seq, stream, at, data) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?), ", to-from), ", ")
			if _, err := tx.ExecContext(ctx, tx.Rebind(q), args...); err != nil {
				return fmt.Errorf("store output: %w", err)
			}
		}
		return nil
	})
}
