package store

import (
	"context"
	"fmt"
	"time"
)

// WatchVerdict is how the regression watch judged a deploy's release. Its
// spellings are the ones stored and shown everywhere.
type WatchVerdict string

// Watch verdicts.
const (
	WatchPassed  WatchVerdict = "passed"  // every batch's window ended without a regression
	WatchTripped WatchVerdict = "tripped" // a new error signature or the 5xx rate stopped the rollout
	WatchSkipped WatchVerdict = "skipped" // no window was watched (off, no web logs, stopped before)
	WatchUnread  WatchVerdict = "unread"  // a window ended with no watched log readable: not verified
)

var watchVerdicts = []WatchVerdict{WatchPassed, WatchTripped, WatchSkipped, WatchUnread}

func (v WatchVerdict) String() string { return string(v) }

// Words is the verdict as screens and reports say it.
func (v WatchVerdict) Words() string {
	if v == WatchUnread {
		return "not verified (logs unread)"
	}
	return string(v)
}

// Failed reports whether the watch found a regression.
func (v WatchVerdict) Failed() bool { return v == WatchTripped }

// ParseWatchVerdict checks that s is a watch verdict.
func ParseWatchVerdict(s string) (WatchVerdict, error) {
	for _, v := range watchVerdicts {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown watch verdict %q", s)
}

// ReleaseWatch is the recorded watch verdict on one release.
type ReleaseWatch struct {
	App       string       `db:"app" json:"-"`
	Env       string       `db:"env" json:"-"`
	ReleaseID string       `db:"release_id" json:"-"`
	Verdict   WatchVerdict `db:"verdict" json:"verdict"`
	// Detail is the verdict in the run's words: what tripped it (the
	// signature or the rate, with the batch), why it was skipped.
	Detail string `db:"detail" json:"detail,omitempty"`
	// Signature is the error signature that tripped it, "" for a rate.
	Signature string `db:"signature" json:"signature,omitempty"`
	At        Millis `db:"at" json:"at"`
}

// SaveReleaseWatch records w, replacing an earlier verdict on the same
// release (a resumed deploy watches again).
func (s *Store) SaveReleaseWatch(ctx context.Context, w ReleaseWatch) error {
	if _, err := ParseWatchVerdict(string(w.Verdict)); err != nil {
		return fmt.Errorf("record the watch of %s/%s release %s: %w", w.App, w.Env, w.ReleaseID, err)
	}
	if w.At == 0 {
		w.At = MillisOf(time.Now())
	}
	_, err := s.exec(ctx, s.db, `INSERT INTO release_watches (app, env, release_id, verdict, detail, signature, at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (app, env, release_id) DO UPDATE SET verdict = excluded.verdict, detail = excluded.detail,
  signature = excluded.signature, at = excluded.at`,
		w.App, w.Env, w.ReleaseID, w.Verdict, w.Detail, w.Signature, w.At)
	if err != nil {
		return fmt.Errorf("record the watch of %s/%s release %s: %w", w.App, w.Env, w.ReleaseID, err)
	}
	return nil
}

// ReleaseWatchOf returns the recorded watch verdict of a release, or
// ErrNotFound.
func (s *Store) ReleaseWatchOf(ctx context.Context, app, env, releaseID string) (ReleaseWatch, error) {
	var w ReleaseWatch
	err := s.get(ctx, s.db, &w, `SELECT app, env, release_id, verdict, detail, signature, at
FROM release_watches WHERE app = ? AND env = ? AND release_id = ?`, app, env, releaseID)
	if err != nil {
		return w, fmt.Errorf("the watch of %s/%s release %s: %w", app, env, releaseID, err)
	}
	return w, nil
}
