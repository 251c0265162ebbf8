// Package deploy is opsui's release pipeline: it cuts a release once from a
// git commit, ships it to every host, runs the app's stages, switches
// `current` atomically, reloads, checks health and records everything; and
// it rolls back to a recorded release. It builds on the ops engine and knows
// nothing of the UI: progress goes out as remote.Event values.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Source is the commit a release is cut from.
type Source struct {
	Ref     string // what the operator asked for
	Commit  string // full hash
	Branch  string // the branch Ref names, if it names one
	Tag     string // the tag Ref names, if it names a tag and no branch
	Subject string
	Author  string
	// Dirty reports uncommitted changes in the working tree: they are not
	// shipped (only the commit is), which the operator should know.
	Dirty bool
}

// RefName is how the release record names what was deployed: the branch
// ("main"), "tag v1", or "" for a commit given by its hash. revisions.log
// says the same (RevisionsRef).
func (s Source) RefName() string {
	switch {
	case s.Branch != "":
		return s.Branch
	case s.Tag != "":
		return tagPrefix + s.Tag
	}
	return ""
}

const tagPrefix = "tag "

// RevisionsRef is what a revisions.log line says was deployed, in
// Capistrano's words for a branch ("Branch main"), and truthfully for a
// tag ("Tag v1") or a bare commit ("Commit 3f2a9c1").
func (s Source) RevisionsRef() string {
	switch {
	case s.Branch != "":
		return "Branch " + s.Branch
	case s.Tag != "":
		return "Tag " + s.Tag
	case s.Ref != "" && s.Ref != "HEAD":
		return "Commit " + s.Ref
	}
	return "Commit " + ShortCommit(s.Commit)
}

// RecordedRef splits a release record's ref (RefName) back into the branch
// or the tag it names, for a deploy that resumes it.
func RecordedRef(name string) (branch, tag string) {
	if t, ok := strings.CutPrefix(name, tagPrefix); ok {
		return "", t
	}
	return name, ""
}

// UnknownRefError says a ref names no commit of the repository.
type UnknownRefError struct {
	Repo, Ref string
}

func (e *UnknownRefError) Error() string {
	return fmt.Sprintf("unknown ref %q in %s: no branch, tag or commit has that name", e.Ref, e.Repo)
}

// Resolve turns ref (a branch, tag, short or full hash) of the git
// repository at repo into the commit it names.
func Resolve(ctx context.Context, repo, ref string) (Source, error) {
	if ref == "" {
		ref = "HEAD"
	}
	if strings.HasPrefix(ref, "-") {
		return Source{}, &UnknownRefError{Repo: repo, Ref: ref} // never let a ref become an option
	}
	if fi, err := os.Stat(repo); err != nil || !fi.IsDir() {
		return Source{}, fmt.Errorf("app repository %s: not a directory", repo)
	}
	if _, err := git(ctx, repo, "rev-parse", "--git-dir"); err != nil {
		return Source{}, fmt.Errorf("app repository %s: not a git repository", repo)
	}
	commit, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || commit == "" {
		return Source{}, &UnknownRefError{Repo: repo, Ref: ref}
	}
	src := Source{Ref: ref, Commit: commit}
	if _, err := git(ctx, repo, "show-ref", "--verify", "--quiet", "refs/heads/"+ref); err == nil {
		src.Branch = ref
	} else if ref == "HEAD" {
		if b, err := git(ctx, repo, "symbolic-ref", "--quiet", "--short", "HEAD"); err == nil {
			src.Branch = b
		}
	} else if _, err := git(ctx, repo, "show-ref", "--verify", "--quiet", "refs/tags/"+ref); err == nil {
		src.Tag = ref
	}
	info, err := git(ctx, repo, "log", "-1", "--format=%s%x00%an <%ae>", commit)
	if err != nil {
		return Source{}, err
	}
	src.Subject, src.Author, _ = strings.Cut(info, "\x00")
	// Untracked files are not "dirty": they were never going to ship.
	if st, err := git(ctx, repo, "status", "--porcelain", "--untracked-files=no"); err == nil && st != "" {
		src.Dirty = true
	}
	return src, nil
}

// Archive writes the tree of commit as a gzipped tar to path: the one
// artifact every host of a deploy receives.
func Archive(ctx context.Context, repo, commit, path string) error {
	if _, err := git(ctx, repo, "archive", "--format=tar.gz", "-o", path, commit); err != nil {
		return fmt.Errorf("archive %s: %w", ShortCommit(commit), err)
	}
	return nil
}

// Commit is one entry of Log.
type Commit struct {
	Hash, Author, Subject string
}

// Log lists the commits reachable from to but not from from, newest first
// (from may be empty: then only to itself). An unknown from (a commit
// that is gone from the repository) is an error.
func Log(ctx context.Context, repo, from, to string, limit int) ([]Commit, error) {
	args := []string{"log", "--format=%H%x00%an%x00%s", fmt.Sprintf("--max-count=%d", max(limit, 1))}
	if from != "" {
		args = append(args, from+".."+to)
	} else {
		args = append(args, "-1", to)
	}
	out, err := git(ctx, repo, args...)
	if err != nil {
		return nil, err
	}
	var cs []Commit
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.SplitN(line, "\x00", 3); len(f) == 3 {
			cs = append(cs, Commit{Hash: f[0], Author: f[1], Subject: f[2]})
		}
	}
	return cs, nil
}

// git runs git in repo and returns its trimmed standard output.
func git(ctx context.Context, repo string, args ...string) (string, error) {
	out, err := GitOutput(ctx, repo, args...)
	return strings.TrimSpace(out), err
}

// GitOutput runs git in repo and returns its standard output as it is
// (a diffstat's leading space and trailing newline included). It is the
// one way opsui runs git, the console's listings included: never a
// prompt for credentials, messages in English.
func GitOutput(ctx context.Context, repo string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", repo}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(errb.String()))
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return out.String(), nil
}

// ShortCommitLen is how many characters of a commit hash opsui shows: the
// CLI, the console and the records all abbreviate alike.
const ShortCommitLen = 12

// ShortCommit abbreviates a commit hash for people to read.
func ShortCommit(commit string) string {
	if len(commit) > ShortCommitLen {
		return commit[:ShortCommitLen]
	}
	return commit
}

// short is ShortCommit, the name the pipeline's messages use.
