package run

import (
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/deploy"
)

// TestRunViewShowsTheWatchLive: a deploy's regression watch is a line
// under the run's title, updated as its status comes (the time left and
// the new errors of the batch watched), then its verdict; a run without
// a watch has no such line, and the panes keep the view's height.
func TestRunViewShowsTheWatchLive(t *testing.T) {
	f, _ := fixedFeed([]string{"web1", "web2", "web3"}, 30*time.Second)
	view := runText(testRunView(f, 120, 30))
	if strings.Contains(view, "watch") {
		t.Errorf("a run without a watch shows one:\n%s", view)
	}

	f.Watch(deploy.WatchStatus{Phase: deploy.WatchBaseline, Batches: 3, Left: 7 * time.Second, Requests: 420})
	if view = runText(testRunView(f, 120, 30)); !strings.Contains(view, "watch baseline: 7 s left, 420 requests so far") {
		t.Errorf("the baseline is not shown:\n%s", view)
	}
	f.Watch(deploy.WatchStatus{Phase: deploy.WatchWatching, Batch: 1, Batches: 3, Hosts: []string{"web1"}, Left: 12 * time.Second})
	view = runText(testRunView(f, 120, 30))
	lines := strings.Split(view, "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[1]) != "watching batch 1/3: 12 s left, 0 new errors" {
		t.Errorf("the line under the title is not the live watch:\n%s", view)
	}
	if got := len(lines); got > 30 {
		t.Errorf("the watch line made the view %d lines high, more than its 30:\n%s", got, view)
	}
	f.Watch(deploy.WatchStatus{Phase: deploy.WatchWatching, Batch: 1, Batches: 3, Left: 3 * time.Second, NewErrors: 5, Requests: 200, Errors5xx: 10,
		Unreadable: []string{"web1: cannot read /srv/app/shared/logs/app.log"}})
	want := "watching batch 1/3: 3 s left, 5 new errors, 5.0% 5xx of 200 requests; cannot read web1: cannot read /srv/app/shared/logs/app.log"
	if view = runText(testRunView(f, 200, 30)); !strings.Contains(view, want) {
		t.Errorf("the watch line lacks %q:\n%s", want, view)
	}
	verdict := "regression watch TRIPPED on batch 1/3: new error KeyError: 'alice' (File \"views.py\", line 25, in items), 15 times on web1, never in the baseline"
	f.Watch(deploy.WatchStatus{Phase: deploy.WatchTripped, Batch: 1, Batches: 3, Verdict: verdict})
	if view = runText(testRunView(f, 200, 30)); !strings.Contains(view, verdict) {
		t.Errorf("the verdict is not shown:\n%s", view)
	}
}
