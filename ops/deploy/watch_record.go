package deploy

import (
	"context"
	"fmt"

	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/store"
)

// verdictRank orders the watch's verdicts across batches: the release's
// verdict is its worst batch's.
var verdictRank = map[store.WatchVerdict]int{store.WatchSkipped: 0, store.WatchPassed: 1, store.WatchUnread: 2, store.WatchTripped: 3}

// recordWatch records v as the release's watch verdict unless an earlier
// batch's was worse (tripped over unread over passed over skipped). A
// store that does not answer is noted, not fatal: the run's notes say the
// verdict too.
func (r *runner) recordWatch(ctx context.Context, v store.WatchVerdict, detail, sig string) {
	if w := r.watch; w != nil {
		w.mu.Lock()
		worse := w.verdict != "" && verdictRank[w.verdict] > verdictRank[v]
		if !worse {
			w.verdict = v
		}
		w.mu.Unlock()
		if worse {
			return
		}
	}
	p := r.plan
	err := r.Store.SaveReleaseWatch(context.WithoutCancel(ctx), store.ReleaseWatch{App: p.App.Name, Env: p.Env.Name,
		ReleaseID: p.ReleaseID, Verdict: v, Detail: detail, Signature: sig})
	if err != nil {
		r.notef("regression watch: the verdict (%s) is not recorded: %v", v, err)
	}
}

// tieErrors records the error signatures of groups, each tied to the
// release its first host ran: this deploy's once the host is switched,
// else the one its current pointed at when the deploy read it under the
// lock (store.FromHost either way).
func (r *runner) tieErrors(ctx context.Context, groups []logs.Group) {
	w := r.watch
	if w == nil || len(groups) == 0 {
		return
	}
	p := r.plan
	sightings := w.ties.Sightings(groups, func(host string) (logs.HostRelease, bool) {
		h := r.byName[host]
		if h == nil {
			return logs.HostRelease{}, false
		}
		hr := logs.HostRelease{App: p.App.Name, Env: p.Env.Name, From: store.FromHost}
		h.mu.Lock()
		if h.switched && !h.rolledBack {
			hr.ReleaseID, hr.Commit = p.ReleaseID, p.Source.Commit
		} else {
			hr.ReleaseID, hr.Commit = h.prevRelease, h.prevCommit
		}
		h.mu.Unlock()
		if hr.ReleaseID == "" {
			hr.From = store.FromUnknown
		}
		return hr, true
	})
	if err := r.Store.RecordErrorSignatures(context.WithoutCancel(ctx), sightings); err != nil {
		w.ties.Forget(sightings) // the next window's tie tries them again
		r.notef("regression watch: %s not recorded: %v", Plural(len(sightings), "error signature", "error signatures"), err)
	}
}

// watchSkipped records that no batch was watched, and why.
func (r *runner) watchSkipped(ctx context.Context, why string) {
	r.recordWatch(ctx, store.WatchSkipped, fmt.Sprintf("regression watch: %s", why), "")
}
