package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// ReleaseFrom says how the release an error signature was first seen
// under was known.
type ReleaseFrom string

// Ways of knowing the release current on a host when an error was seen.
const (
	FromUnknown ReleaseFrom = ""
	// FromHost: the host's current link, read when the line was written.
	FromHost ReleaseFrom = "host"
	// FromRecord: the host could not be read; the newest successful
	// release recorded for it.
	FromRecord ReleaseFrom = "record"
	// FromBacklog: the line was already in the file when opsui read it,
	// so it was written under that release or an earlier one.
	FromBacklog ReleaseFrom = "backlog"
)

// ErrorSignature is one error signature of an app's environment, tied to
// the release current on the host where opsui first saw it.
type ErrorSignature struct {
	App       string `db:"app" json:"app"`
	Env       string `db:"env" json:"env"`
	Signature string `db:"signature" json:"signature"` // ops/logs.Group.Signature
	Summary   string `db:"summary" json:"summary"`
	Frame     string `db:"frame" json:"frame,omitempty"`
	Sample    string `db:"sample" json:"sample,omitempty"`
	// FirstSeenAt is when opsui first saw it, on FirstHost.
	FirstSeenAt    Millis      `db:"first_seen_at" json:"first_seen_at"`
	FirstHost      string      `db:"first_host" json:"first_host"`
	FirstReleaseID string      `db:"first_release_id" json:"first_release_id,omitempty"`
	FirstCommit    string      `db:"first_commit" json:"first_commit,omitempty"`
	ReleaseFrom    ReleaseFrom `db:"release_from" json:"release_from,omitempty"`
	// Seen counts the occurrences reported (each reporter sends what it
	// saw since its last report).
	Seen       int64  `db:"seen" json:"seen"`
	LastSeenAt Millis `db:"last_seen_at" json:"last_seen_at"`
}

const errSigColumns = `app, env, signature, summary, frame, sample, first_seen_at, first_host, first_release_id,
  first_commit, release_from, seen, last_seen_at`

// firstWins picks, for a first_* column, the row seen earliest: the
// existing one unless the new sighting is strictly older.
func firstWins(col string) string {
	return col + ` = CASE WHEN excluded.first_seen_at < error_signatures.first_seen_at THEN excluded.` + col +
		` ELSE error_signatures.` + col + ` END`
}

// RecordErrorSignatures stores each sighting: a new signature is inserted,
// a known one keeps the release of its earliest sighting (first seen
// wins, whichever opsui process writes first) and adds to its count. One
// statement per signature on the (app, env, signature) key, so two writers
// at once never make two rows.
func (s *Store) RecordErrorSignatures(ctx context.Context, sigs []ErrorSignature) error {
	if len(sigs) == 0 {
		return nil
	}
	q := `INSERT INTO error_signatures (` + errSigColumns + `)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app, env, signature) DO UPDATE SET
  seen = error_signatures.seen + excluded.seen,
  last_seen_at = CASE WHEN excluded.last_seen_at > error_signatures.last_seen_at THEN excluded.last_seen_at ELSE error_signatures.last_seen_at END,
  ` + firstWins("first_host") + `,
  ` + firstWins("first_release_id") + `,
  ` + firstWins("first_commit") + `,
  ` + firstWins("release_from") + `,
  ` + firstWins("sample") + `,
  ` + firstWins("first_seen_at")
	for _, g := range sigs {
		if g.App == "" || g.Env == "" || g.Signature == "" || g.FirstHost == "" {
			return fmt.Errorf("record error signature %q: app, env, signature and host are required", g.Summary)
		}
		if g.FirstSeenAt == 0 {
			g.FirstSeenAt = MillisOf(time.Now())
		}
		if g.LastSeenAt < g.FirstSeenAt {
			g.LastSeenAt = g.FirstSeenAt
		}
		_, err := s.exec(ctx, s.db, q, g.App, g.Env, g.Signature, g.Summary, g.Frame, g.Sample, g.FirstSeenAt, g.FirstHost,
			g.FirstReleaseID, g.FirstCommit, g.ReleaseFrom, g.Seen, g.LastSeenAt)
		if err != nil {
			return fmt.Errorf("record error signature %q of %s/%s: %w", g.Summary, g.App, g.Env, err)
		}
	}
	return nil
}

// sigChunk bounds the signatures asked in one query (SQLite's and
// PostgreSQL's limits on bound parameters are far above it).
const sigChunk = 500

// ErrorSignaturesOf returns the recorded signatures of app/env among
// sigs, by signature (all of them when sigs is empty).
func (s *Store) ErrorSignaturesOf(ctx context.Context, app, env string, sigs []string) (map[string]ErrorSignature, error) {
	out := map[string]ErrorSignature{}
	read := func(q string, args ...any) error {
		var rows []ErrorSignature
		if err := s.sel(ctx, s.db, &rows, q, args...); err != nil {
			return fmt.Errorf("the error signatures of %s/%s: %w", app, env, err)
		}
		for _, r := range rows {
			out[r.Signature] = r
		}
		return nil
	}
	q := `SELECT ` + errSigColumns + ` FROM error_signatures WHERE app = ? AND env = ?`
	if len(sigs) == 0 {
		return out, read(q, app, env)
	}
	for chunk := range slices.Chunk(sigs, sigChunk) {
		in, args, err := sqlx.In(q+` AND signature IN (?)`, app, env, chunk)
		if err != nil {
			return nil, err
		}
		if err := read(in, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ErrorSignaturesOfRelease returns the signatures first seen under
// release releaseID of app/env: the new errors it brought, earliest
// first.
func (s *Store) ErrorSignaturesOfRelease(ctx context.Context, app, env, releaseID string) ([]ErrorSignature, error) {
	var rows []ErrorSignature
	err := s.sel(ctx, s.db, &rows, `SELECT `+errSigColumns+` FROM error_signatures
WHERE app = ? AND env = ? AND first_release_id = ? ORDER BY first_seen_at, signature`, app, env, releaseID)
	if err != nil {
		return nil, fmt.Errorf("the errors first seen in %s/%s release %s: %w", app, env, releaseID, err)
	}
	return rows, nil
}
