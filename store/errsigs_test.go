package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestErrorSignatureFirstSeenWins(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	later := ErrorSignature{App: "shop", Env: "prod", Signature: "abc", Summary: "KeyError: 'x'", FirstSeenAt: 2000,
		FirstHost: "web2", FirstReleaseID: "20261204171534", FirstCommit: "edc515f8aa", ReleaseFrom: FromHost, Seen: 3}
	if err := s.RecordErrorSignatures(ctx, []ErrorSignature{later}); err != nil {
		t.Fatal(err)
	}
	// The same signature seen again later under a newer release: the
	// first sighting stays, the count grows.
	again := later
	again.FirstSeenAt, again.FirstHost, again.FirstReleaseID, again.Seen = 5000, "web1", "20261205090000", 2
	if err := s.RecordErrorSignatures(ctx, []ErrorSignature{again}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ErrorSignaturesOf(ctx, "shop", "prod", []string{"abc"})
	if err != nil {
		t.Fatal(err)
	}
	g := got["abc"]
	if g.FirstReleaseID != "20261204171534" || g.FirstHost != "web2" || g.FirstSeenAt != 2000 || g.Seen != 5 || g.LastSeenAt != 5000 {
		t.Fatalf("after a later sighting: %+v", g)
	}
	// A sighting older than the recorded one (another opsui saw it first
	// and writes late) takes its place.
	older := later
	older.FirstSeenAt, older.FirstHost, older.FirstReleaseID, older.ReleaseFrom, older.Seen = 1000, "web3", "20261203000000", FromRecord, 1
	if err := s.RecordErrorSignatures(ctx, []ErrorSignature{older}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.ErrorSignaturesOf(ctx, "shop", "prod", nil)
	if g := got["abc"]; g.FirstReleaseID != "20261203000000" || g.FirstHost != "web3" || g.ReleaseFrom != FromRecord || g.Seen != 6 || g.LastSeenAt != 5000 {
		t.Fatalf("after an older sighting: %+v", g)
	}
	rel, err := s.ErrorSignaturesOfRelease(ctx, "shop", "prod", "20261203000000")
	if err != nil || len(rel) != 1 || rel[0].Summary != "KeyError: 'x'" {
		t.Fatalf("new errors of the release = %+v, %v", rel, err)
	}
	if rel, _ := s.ErrorSignaturesOfRelease(ctx, "shop", "prod", "20261204171534"); len(rel) != 0 {
		t.Fatalf("the release that lost the sighting still lists it: %+v", rel)
	}
	// Other environments keep their own first sighting.
	if got, _ := s.ErrorSignaturesOf(ctx, "shop", "staging", nil); len(got) != 0 {
		t.Fatalf("staging has %+v", got)
	}
	bad := later
	bad.FirstHost = ""
	if err := s.RecordErrorSignatures(ctx, []ErrorSignature{bad}); err == nil {
		t.Error("a sighting without a host was stored")
	}
}

// TestErrorSignaturesTwoWritersAtOnce has two stores on one database (two
// opsui processes) record the same signatures at once: one row each, the
// earliest sighting's release, every occurrence counted.
func TestErrorSignaturesTwoWritersAtOnce(t *testing.T) {
	ctx := context.Background()
	target := testTarget(t)
	var stores []*Store
	for range 2 {
		s, err := Open(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	const sigs, rounds = 5, 20
	var wg sync.WaitGroup
	errs := make(chan error, 2*rounds)
	for w, s := range stores {
		wg.Go(func() {
			for r := range rounds {
				var batch []ErrorSignature
				for i := range sigs {
					batch = append(batch, ErrorSignature{App: "shop", Env: "prod", Signature: fmt.Sprintf("sig%d", i),
						Summary: "boom", FirstSeenAt: Millis(1000 + 10*r + w), FirstHost: fmt.Sprintf("web%d", w),
						FirstReleaseID: fmt.Sprintf("rel-%d-%d", w, r), ReleaseFrom: FromHost, Seen: 1})
				}
				if err := s.RecordErrorSignatures(ctx, batch); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var rows int
	if err := stores[0].get(ctx, stores[0].db, &rows, `SELECT COUNT(*) FROM error_signatures`); err != nil {
		t.Fatal(err)
	}
	if rows != sigs {
		t.Fatalf("%d rows, want %d", rows, sigs)
	}
	got, err := stores[1].ErrorSignaturesOf(ctx, "shop", "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range sigs {
		g := got[fmt.Sprintf("sig%d", i)]
		// Writer 0's round 0 (at 1000) is the earliest sighting.
		if g.FirstReleaseID != "rel-0-0" || g.FirstHost != "web0" || g.FirstSeenAt != 1000 || g.Seen != 2*rounds {
			t.Errorf("sig%d = %+v", i, g)
		}
	}
}

func TestReleaseWatchVerdict(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.ReleaseWatchOf(ctx, "shop", "prod", "20261204171534"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("nothing recorded: %v", err)
	}
	w := ReleaseWatch{App: "shop", Env: "prod", ReleaseID: "20261204171534", Verdict: WatchTripped,
		Detail: "batch 1/2: new error KeyError: 'x'", Signature: "abc"}
	if err := s.SaveReleaseWatch(ctx, w); err != nil {
		t.Fatal(err)
	}
	w.Verdict, w.Detail, w.Signature = WatchPassed, "batch 2/2 passed", ""
	if err := s.SaveReleaseWatch(ctx, w); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReleaseWatchOf(ctx, "shop", "prod", "20261204171534")
	if err != nil || got.Verdict != WatchPassed || got.Detail != "batch 2/2 passed" || got.Signature != "" || got.At == 0 {
		t.Fatalf("watch = %+v, %v", got, err)
	}
	w.Verdict = "green"
	if err := s.SaveReleaseWatch(ctx, w); err == nil {
		t.Error("a verdict outside the four was stored")
	}
	for _, v := range watchVerdicts {
		if p, err := ParseWatchVerdict(v.String()); err != nil || p != v {
			t.Errorf("ParseWatchVerdict(%q) = %q, %v", v, p, err)
		}
	}
}
