package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestCompareTwoDeploys deploys to real sshd hosts twice (the second
// commit adds a migration, pins a requirement and breaks web2's health
// check, so web1 is rolled back and web3 never reached), then compares
// the releases both ways: the commits, the diffstat as git wrote it, the
// migrations (those only the older has say so), the requirements and each
// host's outcome from the records.
func TestCompareTwoDeploys(t *testing.T) {
	tb := newTestbed(t, 3)
	tb.settings = func(h inventory.Host) map[string]inventory.RoleSettings {
		server := appServer
		if h.Name == "web2" {
			server = brokenServer
		}
		return map[string]inventory.RoleSettings{"web": {Reload: "OPSUI_BIND_ADDR=" + h.Address + "; " + server,
			HealthURL: "http://" + h.Address + ":8080/REVISION"}}
	}
	tb.app.Health.Retries, tb.app.Health.Deadline = 3, inventory.Duration(3e9)
	c1 := tb.git("rev-parse", "HEAD")
	first := tb.firstRelease()
	c2 := tb.commit("add refunds and break web2", map[string]string{
		"shop/migrations/0002_refund.py": "# migration\n", "requirements.txt": "django==5.1\n", "BROKEN": "yes\n"})
	second := tb.deploy("main", Strategy{Kind: "rolling", Batches: Batches{{N: 1}}, AutoRollback: true})
	if second.Result != store.ReleaseRolledBack {
		tb.logf(second)
		t.Fatalf("second deploy: %s, want rolled_back", second.Result)
	}
	ctx := context.Background()
	a, b := Side{Commit: c1, Run: first.RunID}, Side{Commit: c2, Run: second.RunID}

	cmp, err := Compare(ctx, tb.st, tb.repo, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Commits) != 1 || cmp.Commits[0].Hash != c2 || cmp.Commits[0].Subject != "add refunds and break web2" || len(cmp.Backward) != 0 {
		t.Errorf("commits %+v, backward %+v", cmp.Commits, cmp.Backward)
	}
	if !strings.HasPrefix(cmp.Diffstat, " ") || !strings.Contains(cmp.Diffstat, "3 files changed") || !strings.HasSuffix(cmp.Diffstat, "\n") {
		t.Errorf("diffstat is not git's own: %q", cmp.Diffstat)
	}
	if !slices.Equal(cmp.Migrations, []string{"shop/migrations/0002_refund.py"}) || !slices.Equal(cmp.Requirements, []string{"requirements.txt"}) {
		t.Errorf("migrations %q, requirements %q", cmp.Migrations, cmp.Requirements)
	}
	// The records say it in the words of the run's summary (HostWords).
	for h, want := range map[string][2]string{"web1": {"ok", "rolled back to " + first.ReleaseID + ": web2 failed after the switch; healthy"},
		"web2": {"ok", "failed at health: http://"}, "web3": {"ok", "not reached"}} {
		if cmp.HostsA[h] != want[0] || !strings.HasPrefix(cmp.HostsB[h], want[1]) {
			t.Errorf("%s: %q then %q, want %q", h, cmp.HostsA[h], cmp.HostsB[h], want)
		}
		if cmp.TookA[h] <= 0 {
			t.Errorf("%s took %v in the first deploy", h, cmp.TookA[h])
		}
	}
	if d := cmp.DifferingHosts(); !slices.Equal(d, []string{"web1", "web2", "web3"}) {
		t.Errorf("differing hosts %v", d)
	}

	// The other way round B went back: the commit is behind, the migration
	// only in the older release; a side without a run has no hosts.
	back, err := Compare(ctx, tb.st, tb.repo, Side{Commit: c2}, Side{Commit: c1, Run: first.RunID})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Commits) != 0 || len(back.Backward) != 1 || back.Backward[0].Hash != c2 {
		t.Errorf("going back: commits %+v, backward %+v", back.Commits, back.Backward)
	}
	if !slices.Equal(back.Migrations, []string{"shop/migrations/0002_refund.py (only in the older release)"}) {
		t.Errorf("going back: migrations %q", back.Migrations)
	}
	if len(back.HostsA) != 0 || !slices.Equal(back.Hosts(), []string{"web1", "web2", "web3"}) {
		t.Errorf("going back: hosts A %v, all %v", back.HostsA, back.Hosts())
	}

	if _, err := Compare(ctx, tb.st, tb.repo, Side{Commit: strings.Repeat("0", 40)}, b); err == nil ||
		!strings.Contains(err.Error(), "commits between 000000000000 and "+c2[:12]) {
		t.Errorf("an unknown commit: %v", err)
	}
}

// TestHostLabels: compare (and the console's compare) label each host
// with the step it failed at, "not reached" or "rolled back"; a record
// made before the step was kept still reads "not reached" from its error.
func TestHostLabels(t *testing.T) {
	for _, tc := range []struct {
		h    store.RunHost
		want string
	}{
		{store.RunHost{Status: "ok", Stage: "cleanup"}, "ok"},
		{store.RunHost{Status: "failed", Stage: "health"}, "failed at health"},
		{store.RunHost{Status: "skipped", Stage: "not reached"}, "not reached"},
		{store.RunHost{Status: "cancelled", Stage: "collectstatic", Error: "not reached: the deploy stopped before this host's batch"}, "not reached"},
		{store.RunHost{Status: "rolled_back"}, "rolled back"},
		{store.RunHost{Status: "cancelled", Stage: "upload"}, "cancelled at upload"},
		{store.RunHost{Status: "failed"}, "failed"},
	} {
		if got := hostLabel(tc.h); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.h, got, tc.want)
		}
	}
}

// TestNotFailedWord: a pipeline's host that did not fail on its own is
// named the same from its record (status, step) and from live events (no
// status; the step and the error the pipeline gave it); any other host
// gets no word.
func TestNotFailedWord(t *testing.T) {
	for _, tc := range []struct {
		status    store.HostStatus
		step, err string
		want      string
	}{
		{store.HostSkipped, store.HostNotReached, "", "not reached"},
		{store.HostSkipped, "", "", "not reached"},
		{"", store.HostNotReached, "", "not reached"},
		{"", "upload", "not reached: the deploy stopped before this host's batch", "not reached"},
		{store.HostRolledBack, "", "", "rolled back"},
		{"", "health", "switched back to 20261204100000: web2 failed", "rolled back"},
		{store.HostFailed, "health", "exit 1", ""},
		{store.HostCancelled, "upload", "context canceled", ""},
		{store.HostOK, "cleanup", "", ""},
		{"", "", "", ""},
	} {
		if got := NotFailedWord(tc.status, tc.step, tc.err); got != tc.want {
			t.Errorf("NotFailedWord(%q, %q, %q) = %q, want %q", tc.status, tc.step, tc.err, got, tc.want)
		}
	}
	// The live word is the pipeline's own: a host it switched back.
	if err := fmt.Errorf(switchedBackPrefix+"%s: %s", "R1", "web2 failed"); NotFailedWord("", "", err.Error()) != "rolled back" {
		t.Errorf("%q is not read as rolled back", err)
	}
}

// TestShortCommit: one width for every abbreviated hash.
func TestShortCommit(t *testing.T) {
	full := "0123456789abcdef0123456789abcdef01234567"
	if got := ShortCommit(full); got != "0123456789ab" {
		t.Errorf("ShortCommit(%s) = %s", full, got)
	}
	if got := ShortCommit("abc"); got != "abc" {
		t.Errorf("a short hash is kept whole: %s", got)
	}
}
