package deploy

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Delta is what lies between two commits of an app's repository.
type Delta struct {
	// Commits are in to and not in from, newest first; Behind the reverse
	// (to went back past them).
	Commits, Behind []Commit
	Diffstat        string // git's diffstat, as git wrote it
	// Migrations are the migration files to adds; Requirements the
	// dependency files that differ.
	Migrations, Requirements []string
}

// Between reads what lies between commits from and to of repo: the
// deploy preview and the comparison of two releases both show it.
func Between(ctx context.Context, repo, from, to string) (Delta, error) {
	var d Delta
	var err error
	if d.Commits, err = Log(ctx, repo, from, to, 500); err != nil {
		return d, fmt.Errorf("commits between %s and %s: %w", ShortCommit(from), ShortCommit(to), err)
	}
	if d.Behind, err = Log(ctx, repo, to, from, 500); err != nil {
		return d, fmt.Errorf("commits between %s and %s: %w", ShortCommit(to), ShortCommit(from), err)
	}
	if d.Diffstat, err = GitOutput(ctx, repo, "diff", "--stat=100", from, to); err != nil {
		return d, fmt.Errorf("diffstat between %s and %s: %w", ShortCommit(from), ShortCommit(to), err)
	}
	if d.Migrations, err = NewMigrationFiles(ctx, repo, from, to); err != nil {
		return d, fmt.Errorf("migrations between %s and %s: %w", ShortCommit(from), ShortCommit(to), err)
	}
	if d.Requirements, err = changedRequirements(ctx, repo, from, to); err != nil {
		return d, fmt.Errorf("requirements between %s and %s: %w", ShortCommit(from), ShortCommit(to), err)
	}
	return d, nil
}

// changedRequirements lists the dependency files that differ between two
// commits: requirements*.txt and the like, Pipfile(.lock), pyproject.toml,
// poetry.lock, setup.py/cfg, package.json and its locks.
func changedRequirements(ctx context.Context, repo, from, to string) ([]string, error) {
	out, err := git(ctx, repo, "diff", "--name-only", from, to)
	if err != nil {
		return nil, err
	}
	var files []string
	for f := range strings.SplitSeq(out, "\n") {
		if isRequirementsFile(f) {
			files = append(files, f)
		}
	}
	return files, nil
}

func isRequirementsFile(f string) bool {
	base := path.Base(f)
	switch base {
	case "Pipfile", "Pipfile.lock", "pyproject.toml", "poetry.lock", "setup.py", "setup.cfg", "uv.lock",
		"package.json", "package-lock.json", "yarn.lock", "go.mod", "Gemfile", "Gemfile.lock":
		return true
	}
	return strings.HasPrefix(base, "requirements") && strings.HasSuffix(base, ".txt") ||
		strings.Contains(f, "requirements/") && strings.HasSuffix(base, ".txt")
}

// Side is one release of a comparison: its commit and the run that
// deployed it (0: none recorded).
type Side struct {
	Commit string
	Run    int64
}

// SideOf is the side a release record makes.
func SideOf(r store.Release) Side { return Side{Commit: r.Commit, Run: r.RunID.Int64} }

// Comparison is what lies between two releases of one app: A is the older.
type Comparison struct {
	Commits      []Commit // in B, not in A
	Backward     []Commit // in A, not in B
	Diffstat     string
	Migrations   []string
	Requirements []string
	// HostsA and HostsB are each host's outcome in the release's run
	// ("ok", "failed at migrate"); TookA and TookB how long each took.
	HostsA, HostsB map[string]string
	TookA, TookB   map[string]time.Duration
}

// Hosts is every host of either release's run, sorted.
func (c Comparison) Hosts() []string {
	var out []string
	for _, m := range []map[string]string{c.HostsA, c.HostsB} {
		for h := range m {
			if !slices.Contains(out, h) {
				out = append(out, h)
			}
		}
	}
	slices.Sort(out)
	return out
}

// DifferingHosts are the hosts whose outcome differs between the two
// releases (one that only took part in one of them differs), sorted.
func (c Comparison) DifferingHosts() []string {
	var out []string
	for _, h := range c.Hosts() {
		a, inA := c.HostsA[h]
		b, inB := c.HostsB[h]
		if a != b || inA != inB {
			out = append(out, h)
		}
	}
	return out
}

// Compare says what lies between release a (the older) and b of one app
// whose repository is repo: the commits both ways, the diffstat, the
// migrations added (and those only a has: b went back past them), the
// requirements that differ, and each host's outcome in both runs. The
// console's compare and `opsui compare` both show it.
func Compare(ctx context.Context, st *store.Store, repo string, a, b Side) (Comparison, error) {
	var cmp Comparison
	d, err := Between(ctx, repo, a.Commit, b.Commit)
	if err != nil {
		return cmp, err
	}
	cmp.Commits, cmp.Backward, cmp.Diffstat, cmp.Requirements = d.Commits, d.Behind, d.Diffstat, d.Requirements
	removed, err := NewMigrationFiles(ctx, repo, b.Commit, a.Commit)
	if err != nil {
		return cmp, fmt.Errorf("migrations between %s and %s: %w", ShortCommit(b.Commit), ShortCommit(a.Commit), err)
	}
	cmp.Migrations = d.Migrations
	for _, f := range removed {
		cmp.Migrations = append(cmp.Migrations, f+" (only in the older release)")
	}
	if cmp.HostsA, cmp.TookA, err = hostOutcomes(ctx, st, a.Run); err != nil {
		return cmp, err
	}
	cmp.HostsB, cmp.TookB, err = hostOutcomes(ctx, st, b.Run)
	return cmp, err
}

// hostOutcomes is each host's status in run id ("failed at STAGE" when it
// stopped at a stage) and how long it took; empty without a run.
func hostOutcomes(ctx context.Context, st *store.Store, id int64) (map[string]string, map[string]time.Duration, error) {
	out, took := map[string]string{}, map[string]time.Duration{}
	if id == 0 {
		return out, took, nil
	}
	hosts, err := st.RunHosts(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("hosts of run %d: %w", id, err)
	}
	for _, h := range hosts {
		out[h.Host], took[h.Host] = hostLabel(h), time.Duration(h.DurationMS)*time.Millisecond
	}
	return out, took, nil
}

// hostLabel says how a host's part in a run ended, in the words every
// screen uses (HostWords): "ok", "failed at health: ...", "not reached",
// "rolled back to R: ...".
func hostLabel(h store.RunHost) string {
	return HostWordsClass(h.Status, h.Stage, remote.ErrorClass(h.ErrorClass), h.Error)
}

// NotFailedWord names the end of a pipeline's host that did not fail on
// its own: "not reached" (its batch never started) or "rolled back"
// (switched back because another host failed); "" for any other host.
// A record says so in its status (skipped, rolled_back) or its step; live
// events, which carry no host status (pass ""), in the step and the
// error the pipeline gave the host, as does a record made before the
// step was kept.
func NotFailedWord(status store.HostStatus, step, err string) string {
	switch {
	case status == store.HostSkipped || step == store.HostNotReached || strings.HasPrefix(err, "not reached"):
		return store.HostNotReached
	case status == store.HostRolledBack || strings.HasPrefix(err, switchedBackPrefix):
		return rolledBackStep
	}
	return ""
}

// switchedBackPrefix begins the error of a host switched back because
// another host failed (activate).
const switchedBackPrefix = "switched back to "
