package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/opsui/opsui/ops/deploy"
)

// TestCompareCLI deploys twice to real sshd hosts (the second commit adds a
// migration and changes the requirements, and fails its check on web2),
// then compares the two releases by release id, run id and commit prefix.
func TestCompareCLI(t *testing.T) {
	e := newDeployEnv(t, 2, "      - name: check\n        run: '[ \"$HOST\" != web2 ] || [ ! -e \"$RELEASE_DIR/fail\" ]'\n        position: before:switch\n")
	c1 := e.git(t, "rev-parse", "HEAD")
	r1 := releaseOf(t, mustRun(t, e.db, "deploy", "--env", "test", "--yes"))
	e.commit(t, "add refunds", "shop/migrations/0002_refund.py", "# migration\n")
	e.commit(t, "pin django", "requirements.txt", "django==5.1\n")
	c3 := e.commit(t, "break web2", "fail", "x\n")
	out, _ := opsuiCmd(t, e.db, "", "deploy", "--env", "test", "--yes", "--no-auto-rollback", "--max-fail", "1")
	r2 := releaseOf(t, out)

	var rel []struct {
		ReleaseID string `json:"release_id"`
		RunID     int64  `json:"run_id"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, e.db, "releases", "--json")), &rel); err != nil || len(rel) != 2 {
		t.Fatalf("releases --json: %v %+v", err, rel)
	}
	run1 := rel[1].RunID

	// B first, A by its run id: the older is still shown as A.
	out = mustRun(t, e.db, "compare", r2, strconv.FormatInt(run1, 10))
	for _, want := range []string{
		"A (older)", r1 + " deploy", r2 + " deploy", deploy.ShortCommit(c1), deploy.ShortCommit(c3),
		"commits in B not in A (3):", "break web2", "pin django", "add refunds", "Dev",
		"diffstat:", "requirements.txt", "3 files changed",
		"migrations that differ (1):", "shop/migrations/0002_refund.py",
		"requirements that differ (1):",
		"hosts whose outcome differed: web2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("compare lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "commits in A not in B") {
		t.Errorf("nothing went back:\n%s", out)
	}
	var web1, web2 string
	for l := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "web1" {
			web1 = l
		}
		if len(f) > 0 && f[0] == "web2" {
			web2 = l
		}
	}
	if strings.Contains(web1, "differs") || !strings.Contains(web1, "ok") || !strings.Contains(web2, "differs") || !strings.Contains(web2, "failed at check") {
		t.Errorf("hosts rows: web1 %q, web2 %q\n%s", web1, web2, out)
	}

	// JSON, by commit prefixes, in the other order: the same, B went back.
	var got struct {
		A, B struct {
			ReleaseID string `json:"release_id"`
			Result    string `json:"result"`
		}
		Commits, Backward []struct{ Hash, Author, Subject string }
		Migrations        []string
		Requirements      []string
		Hosts             []struct {
			Host, A, B string
			Differs    bool
		}
		DifferingHosts []string `json:"differing_hosts"`
	}
	out = mustRun(t, e.db, "compare", c3[:8], c1[:8], "--app", "app", "--env", "test", "--json")
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("compare --json: %v\n%s", err, out)
	}
	if got.A.ReleaseID != r1 || got.B.ReleaseID != r2 || got.B.Result != "failed" || len(got.Commits) != 3 || got.Commits[0].Subject != "break web2" ||
		got.Commits[0].Hash != c3 || len(got.Backward) != 0 || len(got.Migrations) != 1 || len(got.Requirements) != 1 ||
		len(got.Hosts) != 2 || len(got.DifferingHosts) != 1 || got.DifferingHosts[0] != "web2" {
		t.Errorf("compare --json:\n%s", out)
	}

	// Wrong names are errors that say what to give.
	for _, args := range [][]string{{r1, "nope"}, {r1, r2, "--env", "prod"}, {r1}} {
		if out, err := opsuiCmd(t, e.db, "", append([]string{"compare"}, args...)...); err == nil {
			t.Errorf("compare %v: no error\n%s", args, out)
		}
	}
	if _, err := opsuiCmd(t, e.db, "", "compare", r1, "zzzz"); err == nil || !strings.Contains(err.Error(), "release id, a run id or a commit prefix") {
		t.Errorf("compare with an unknown name: %v", err)
	}
}
