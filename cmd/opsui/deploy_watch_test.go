package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/ops/deploy"
)

// TestDeployWatchFlag: --watch takes a duration from 0 (no watch) to an
// hour; anything else is a usage error (exit 2) before anything is read.
func TestDeployWatchFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	for _, tc := range []struct {
		arg, want string
	}{
		{"-5s", "--watch -5s: want a duration from 0 (no watch) to 1h"},
		{"2h", "--watch 2h0m0s: want a duration from 0 (no watch) to 1h"},
		{"soon", `invalid argument "soon" for "--watch" flag`},
	} {
		out, code := runWithStdin(t, db, nil, "deploy", "shop", "--env", "production", "--watch", tc.arg)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("--watch %s: exit %d, want 2 with %q:\n%s", tc.arg, code, tc.want, out)
		}
	}
}

// TestWatchPrinter: the headless deploy says the watch's status when a
// phase or batch starts, then at most every ten seconds; verdicts are
// the deploy's own messages, not repeated.
func TestWatchPrinter(t *testing.T) {
	var said []string
	p := watchPrinter(func(s string) { said = append(said, s) })
	p(deploy.WatchStatus{Phase: deploy.WatchBaseline, Batches: 2, Left: 5 * time.Second})
	p(deploy.WatchStatus{Phase: deploy.WatchBaseline, Batches: 2, Left: 4 * time.Second})
	p(deploy.WatchStatus{Phase: deploy.WatchWatching, Batch: 1, Batches: 2, Left: 60 * time.Second})
	p(deploy.WatchStatus{Phase: deploy.WatchWatching, Batch: 1, Batches: 2, Left: 59 * time.Second})
	p(deploy.WatchStatus{Phase: deploy.WatchPassed, Batch: 1, Batches: 2, Verdict: "passed"})
	p(deploy.WatchStatus{Phase: deploy.WatchWatching, Batch: 2, Batches: 2, Left: 60 * time.Second, NewErrors: 1})
	want := []string{"watch baseline: 5 s left, 0 requests so far", "watching batch 1/2: 60 s left, 0 new errors", "watching batch 2/2: 60 s left, 1 new error"}
	if strings.Join(said, "\n") != strings.Join(want, "\n") {
		t.Errorf("said:\n%s\nwant:\n%s", strings.Join(said, "\n"), strings.Join(want, "\n"))
	}
}
