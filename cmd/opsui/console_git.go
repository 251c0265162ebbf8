package main

import (
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ui"
)

// gitOutput runs git in repo the one way opsui does (deploy.GitOutput),
// naming the repository in its errors.
func gitOutput(ctx context.Context, repo string, args ...string) (string, error) {
	out, err := deploy.GitOutput(ctx, repo, args...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", repo, err)
	}
	return out, nil
}

// recentCommits is how many commits the wizard's ref step lists.
const recentCommits = 30

// gitRefs lists the branches and tags of repo, newest first, then its
// recent commits.
func gitRefs(ctx context.Context, repo string) ([]ui.Ref, error) {
	out, err := gitOutput(ctx, repo, "for-each-ref", "--sort=-creatordate",
		"--format=%(refname)%00%(objectname)%00%(*objectname)%00%(subject)%00%(authorname)%00%(creatordate:unix)%00%(*subject)%00%(*authorname)",
		"refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	var refs []ui.Ref
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) < 8 {
			continue
		}
		r := ui.Ref{Hash: f[1], Subject: f[3], Author: f[4], When: unixTime(f[5])}
		if f[2] != "" { // an annotated tag: the commit it points at
			r.Hash, r.Subject, r.Author = f[2], f[6], f[7]
		}
		switch {
		case strings.HasPrefix(f[0], "refs/heads/"):
			r.Kind, r.Name = "branch", strings.TrimPrefix(f[0], "refs/heads/")
		default:
			r.Kind, r.Name = "tag", strings.TrimPrefix(f[0], "refs/tags/")
		}
		refs = append(refs, r)
	}
	out, err = gitOutput(ctx, repo, "log", "--all", "-n", strconv.Itoa(recentCommits), "--format=%H%x00%s%x00%an%x00%ct")
	if err != nil {
		return nil, err
	}
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) < 4 {
			continue
		}
		refs = append(refs, ui.Ref{Kind: "commit", Name: f[0][:min(12, len(f[0]))], Hash: f[0], Subject: f[1], Author: f[2], When: unixTime(f[3])})
	}
	return refs, nil
}

func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

// gitDiffstat is git's diffstat between two commits.
func gitDiffstat(ctx context.Context, repo, from, to string) (string, error) {
	return gitOutput(ctx, repo, "diff", "--stat=100", from, to)
}

// changedRequirements lists the dependency files that differ between two
// commits: requirements*.txt and the like, Pipfile(.lock), pyproject.toml,
// poetry.lock, setup.py/cfg, package.json and its locks.
func changedRequirements(ctx context.Context, repo, from, to string) ([]string, error) {
	out, err := gitOutput(ctx, repo, "diff", "--name-only", from, to)
	if err != nil {
		return nil, err
	}
	var files []string
	for f := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
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

// gitDelta is what lies between two commits of an app's repository.
type gitDelta struct {
	// Commits are in to and not in from, newest first; Behind the reverse
	// (to went back past them).
	Commits, Behind []deploy.Commit
	Diffstat        string
	// Migrations are the migration files to adds; Requirements the
	// dependency files that differ.
	Migrations, Requirements []string
}

// gitBetween reads what lies between commits from and to of repo: the
// wizard's preview and the comparison of two releases both show it.
func gitBetween(ctx context.Context, repo, from, to string) (gitDelta, error) {
	var d gitDelta
	var err error
	if d.Commits, err = deploy.Log(ctx, repo, from, to, 500); err != nil {
		return d, fmt.Errorf("commits between %s and %s: %w", shortHash(from), shortHash(to), err)
	}
	if d.Behind, err = deploy.Log(ctx, repo, to, from, 500); err != nil {
		return d, fmt.Errorf("commits between %s and %s: %w", shortHash(to), shortHash(from), err)
	}
	if d.Diffstat, err = gitDiffstat(ctx, repo, from, to); err != nil {
		return d, err
	}
	if d.Migrations, err = deploy.NewMigrationFiles(ctx, repo, from, to); err != nil {
		return d, fmt.Errorf("migrations between %s and %s: %w", shortHash(from), shortHash(to), err)
	}
	if d.Requirements, err = changedRequirements(ctx, repo, from, to); err != nil {
		return d, fmt.Errorf("requirements between %s and %s: %w", shortHash(from), shortHash(to), err)
	}
	return d, nil
}
