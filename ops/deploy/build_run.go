package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// build makes the deploy's artifact (at artifact) with the app's build:
// the cached one of this commit and build definition when there is one
// (and the plan does not say NoBuildCache), else a fresh build, cached
// for the next deploy of the commit. It runs after the run is recorded
// and before the lock is taken: no host is touched until it succeeds.
func (r *runner) build(ctx context.Context, artifact string) error {
	p := r.plan
	spec := p.App.Build
	key := BuildKey(p.App, p.Source.Commit)
	root, rootErr := BuildCacheDir(p.BuildCache)
	if rootErr == nil && !p.NoBuildCache {
		if info, ok := LookupBuild(root, p.App, p.Source.Commit); ok {
			err := checkSum(info.Path, info.SHA256)
			if err == nil {
				err = linkOrCopy(info.Path, artifact)
			}
			if err == nil {
				now := time.Now()
				_ = os.Chtimes(info.Path, now, now) // used: kept by the pruning
				r.notef("build: %s", info.Cached())
				return nil
			}
			r.say("build: the cached artifact %s cannot be used (%v): building again", ShortKey(key), err)
		}
	}
	if p.NoBuildCache {
		r.say("build: the cache is not used (--no-build-cache): building again")
	}

	secrets, err := r.buildSecrets(ctx)
	if err != nil {
		return err
	}

	// The build's own directory, and the cache's (where its log and
	// artifact go, so a rename stores them); without a cache it still runs.
	work, err := os.MkdirTemp("", "opsui-build-")
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}
	defer removeTree(work)
	cacheDir := ""
	if rootErr == nil {
		cacheDir = filepath.Join(root, p.App.Name)
		if err := os.MkdirAll(cacheDir, 0o700); err != nil {
			rootErr = err
		}
	}
	if rootErr != nil {
		r.say("build: no cache (%v): the artifact is not kept for the next deploy", rootErr)
		cacheDir = work
	}
	// Unique names: one console may build the same commit for two
	// environments at once; the last to finish renames over the first.
	tmp := fmt.Sprintf(".%s.%d.%d", key, os.Getpid(), time.Now().UnixNano())
	out := filepath.Join(cacheDir, tmp+".building")
	defer os.Remove(out) // what a failed build left
	_, _, logPath := buildPaths(root, p.App.Name, key)
	if rootErr != nil {
		logPath = filepath.Join(work, "build.log")
	}
	logTmp := filepath.Join(filepath.Dir(logPath), tmp+".log")
	logf, err := os.OpenFile(logTmp, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("build: %w", err)
	}

	r.say("build: running %s of %s on this machine in the tree of %s (timeout %s)", Plural(len(spec.Run), "command", "commands"),
		p.App.Name, ShortCommit(p.Source.Commit), spec.TimeoutOrDefault())
	began := time.Now()
	var wheels bool
	err = runBuild(ctx, BuildRun{App: p.App, Commit: p.Source.Commit, Release: p.ReleaseID, Env: p.Env.Name, Secrets: secrets,
		Line: func(l string) { r.say("build | %s", l) }}, work, out, logf, &wheels)
	took := time.Since(began)
	if cerr := logf.Close(); cerr == nil {
		_ = os.Rename(logTmp, logPath)
	}
	if err != nil {
		if be := (*BuildError)(nil); errors.As(err, &be) && rootErr == nil {
			be.Log = logPath
		}
		return err
	}
	info := BuildInfo{Key: key, App: p.App.Name, Commit: p.Source.Commit, BuiltAt: began.UTC(), Took: Seconds(took.Seconds()),
		Wheels: wheels, Path: out}
	if rootErr == nil {
		if info, err = storeBuild(root, info, out); err != nil {
			return fmt.Errorf("build: keep the artifact: %w", err)
		}
		if err := pruneBuilds(root, p.App.Name); err != nil {
			r.say("build: pruning old artifacts from the cache: %v", err)
		}
	}
	if err := linkOrCopy(info.Path, artifact); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	fi, _ := os.Stat(artifact)
	what := "not cached"
	if rootErr == nil {
		what = "cached as " + ShortKey(key) + "; its output is in " + logPath
	}
	r.notef("build: built in %s (%d KiB), %s", took.Round(100*time.Millisecond), fi.Size()>>10, what)
	return nil
}

// buildSecrets resolves the secrets the build names, by variable, on
// this machine (the deploy's resolver: each read once per deploy).
func (r *runner) buildSecrets(ctx context.Context) (map[string]string, error) {
	names := r.plan.App.Build.Secrets
	if len(names) == 0 {
		return nil, nil
	}
	sec := r.Secrets
	if sec == nil {
		sec = &Secrets{}
	}
	out := make(map[string]string, len(names))
	for k, name := range names {
		v, err := sec.Resolve(ctx, r.plan.App, name)
		if err != nil {
			return nil, fmt.Errorf("build: %s: %w", k, err) // names the secret, never its value
		}
		out[k] = v
	}
	return out, nil
}

// Cached says what a cached build is, in the words the deploy, the dry
// run and the preview use: "cached (KEY, built … in …)".
func (b BuildInfo) Cached() string {
	return fmt.Sprintf("cached (%s, built %s in %s); not run again", ShortKey(b.Key), b.BuiltAt.UTC().Format("2006-01-02 15:04 UTC"), b.Took.Duration())
}

// linkOrCopy makes dst the same bytes as src: a hard link when both are on
// one file system (the cache may prune src meanwhile; the link keeps it).
func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// removeTree removes a build's directory, which its commands may have
// left read-only (a module cache does).
func removeTree(dir string) {
	if os.RemoveAll(dir) == nil {
		return
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// buildFailed ends the recorded run of a deploy whose build failed (or
// was cancelled): every host not reached, the run failed with the
// build's error as its summary. Nothing was locked or touched.
func (r *runner) buildFailed(ctx context.Context, why error) error {
	ctx = context.WithoutCancel(ctx)
	result := store.RunFailed
	var be *BuildError
	if errors.As(why, &be) && be.Cancelled {
		result = store.RunCancelled
	}
	var hrs []remote.HostResult
	var parts []store.HostPart
	for _, h := range r.hosts {
		hrs = append(hrs, remote.HostResult{Host: h.host.Name, Status: remote.StatusCancelled, Code: -1, Class: remote.ClassCancelled,
			Err: errors.New("not reached: the build failed")})
		parts = append(parts, store.HostPart{Host: h.host.Name, Status: store.HostSkipped, Step: store.HostNotReached})
	}
	id := r.rec.RunID()
	errs := []error{r.rec.Finish(ctx, remote.NewResult(hrs, 0)),
		r.Store.FinishRun(ctx, id, result, why.Error()+"\nno host was touched"),
		r.Store.RecordHostParts(ctx, id, parts)}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w\nno host was touched (recording run %d failed: %v)", why, id, err)
	}
	return fmt.Errorf("%w\nno host was touched (run %d)", why, id)
}
