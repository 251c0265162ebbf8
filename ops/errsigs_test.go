package ops

import (
	"context"
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

func TestFirstSeenWhere(t *testing.T) {
	sig := store.ErrorSignature{FirstReleaseID: "20261204171534", FirstCommit: "edc515f8aa11bb22", ReleaseFrom: store.FromHost}
	for from, want := range map[store.ReleaseFrom]string{
		store.FromHost:    "20261204171534 (edc515f8aa11)",
		store.FromRecord:  "20261204171534 (edc515f8aa11, from the record)",
		store.FromBacklog: "20261204171534 (edc515f8aa11) or before",
	} {
		sig.ReleaseFrom = from
		if got := (FirstSeen{sig}).Where(); got != want {
			t.Errorf("%q: %q, want %q", from, got, want)
		}
	}
	if got := (FirstSeen{store.ErrorSignature{}}).Where(); got != "an unknown release" {
		t.Errorf("no release: %q", got)
	}
}

// TestReleaseNotesSayTheWatchAndTheNewErrors: the console's notes of a
// deploy carry its typed watch verdict and the errors first seen in it,
// in the words of opsui releases; a release without either has none.
func TestReleaseNotesSayTheWatchAndTheNewErrors(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	svc := &Service{Store: st}
	var rels []store.Release
	for _, id := range []string{"20261204171534", "20261205090000"} {
		r := &store.Release{App: "shop", Env: "prod", ReleaseID: id, Kind: store.KindDeploy, Commit: "edc515f8aa11bb22", Operator: "ann"}
		if err := st.CreateRelease(ctx, r, []string{"web1"}); err != nil {
			t.Fatal(err)
		}
		rels = append(rels, *r)
	}
	if err := st.SaveReleaseWatch(ctx, store.ReleaseWatch{App: "shop", Env: "prod", ReleaseID: rels[0].ReleaseID, Verdict: store.WatchTripped,
		Detail: "regression watch TRIPPED on batch 1/2: new error KeyError: 'alice'", Signature: "abc"}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordErrorSignatures(ctx, []store.ErrorSignature{{App: "shop", Env: "prod", Signature: "abc", Summary: "KeyError: 'alice'",
		Frame: `File "views.py", line 25, in items`, FirstSeenAt: 1764955200000, FirstHost: "web1", FirstReleaseID: rels[0].ReleaseID,
		ReleaseFrom: store.FromHost, Seen: 11}}); err != nil {
		t.Fatal(err)
	}
	notes, err := svc.ReleaseNotes(ctx, rels)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(notes, "\n")
	for _, want := range []string{
		"20261204171534 shop/prod: watch tripped: regression watch TRIPPED on batch 1/2: new error KeyError: 'alice'",
		`20261204171534 shop/prod: new error KeyError: 'alice' (File "views.py", line 25, in items); first seen on web1 at 2025-12-05 17:20:00 UTC, 11 times`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("notes lack %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "20261205090000") {
		t.Errorf("the release with no watch and no new error has notes:\n%s", got)
	}
}
