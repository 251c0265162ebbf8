package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

// checkWatchRecord checks the typed verdict recorded on a release and the
// error signatures first seen in it: each of want (a part of a summary)
// and no other.
func checkWatchRecord(t *testing.T, tb *testbed, releaseID string, verdict store.WatchVerdict, want ...string) []store.ErrorSignature {
	t.Helper()
	ctx := context.Background()
	w, err := tb.st.ReleaseWatchOf(ctx, tb.app.Name, tb.env.Name, releaseID)
	if err != nil || w.Verdict != verdict {
		t.Errorf("release %s: watch %+v, %v; want %s", releaseID, w, err, verdict)
	}
	if verdict == store.WatchTripped && (w.Signature == "" || !strings.Contains(w.Detail, "TRIPPED")) {
		t.Errorf("release %s: the tripped verdict names no signature: %+v", releaseID, w)
	}
	sigs, err := tb.st.ErrorSignaturesOfRelease(ctx, tb.app.Name, tb.env.Name, releaseID)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sigs {
		got = append(got, s.Summary+" (on "+s.FirstHost+", from "+string(s.ReleaseFrom)+")")
	}
	t.Logf("release %s: watch %s; new errors %q", releaseID, w.Verdict, got)
	if len(want) == 0 && len(sigs) > 0 {
		t.Errorf("release %s: new errors %q, want none", releaseID, got)
	}
	for _, w := range want {
		found := false
		for _, s := range sigs {
			found = found || strings.Contains(s.Summary, w) && s.ReleaseFrom == store.FromHost
		}
		if !found {
			t.Errorf("release %s: no new error with %q read from the host among %q", releaseID, w, got)
		}
	}
	return sigs
}
