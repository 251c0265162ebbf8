package ops

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/ops/deploy"
)

// Ref is a branch, tag or commit of an app's repository.
type Ref struct {
	Name    string // what is deployed: the branch or tag name, or the hash
	Kind    string // branch, tag or commit
	Hash    string
	Subject string
	Author  string
	When    time.Time
}

// recentCommits is how many commits Refs lists after the branches and tags.
const recentCommits = 30

// Refs lists the branches and tags of app's repository, newest first,
// then its recent commits: what the deploy wizard offers.
func (s *Service) Refs(ctx context.Context, app string) ([]Ref, error) {
	a, err := s.App(ctx, app)
	if err != nil {
		return nil, err
	}
	return gitRefs(ctx, a.Repo)
}

// gitOutput runs git in repo the one way opsui does (deploy.GitOutput),
// naming the repository in its errors.
func gitOutput(ctx context.Context, repo string, args ...string) (string, error) {
	out, err := deploy.GitOutput(ctx, repo, args...)
	if err != nil {
		return "", fmt.Errorf("%s: %w", repo, err)
	}
	return out, nil
}

// gitRefs lists the branches and tags of repo, newest first, then its
// recent commits.
func gitRefs(ctx context.Context, repo string) ([]Ref, error) {
	out, err := gitOutput(ctx, repo, "for-each-ref", "--sort=-creatordate",
		"--format=%(refname)%00%(objectname)%00%(*objectname)%00%(subject)%00%(authorname)%00%(creatordate:unix)%00%(*subject)%00%(*authorname)",
		"refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) < 8 {
			continue
		}
		r := Ref{Hash: f[1], Subject: f[3], Author: f[4], When: unixTime(f[5])}
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
		refs = append(refs, Ref{Kind: "commit", Name: deploy.ShortCommit(f[0]), Hash: f[0], Subject: f[1], Author: f[2], When: unixTime(f[3])})
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
