package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// The record-reading operations: what the CLI's releases, compare and
// pending commands and the console's releases, past runs and host details
// show. They read the store (and an app's repository) and change nothing.

// ReleaseQuery narrows Releases.
type ReleaseQuery struct {
	App, Env string // "" for every app, environment of the inventory
	// Commit, when given, answers "when did this commit reach each
	// environment": releases of it (a prefix is enough), of any age.
	Commit string
	Limit  int // per app and environment; 0: all
}

// Releases lists recorded releases, newest first for each app and
// environment: those of q.App and q.Env, or of every app and environment
// of the inventory when they are empty.
func (s *Service) Releases(ctx context.Context, q ReleaseQuery) ([]store.Release, error) {
	var rs []store.Release
	var err error
	if q.Commit != "" {
		rs, err = s.Store.ReleasesByCommit(ctx, strings.ToLower(q.Commit))
	} else {
		rs, err = s.releasesOf(ctx, q.App, q.Env, q.Limit)
	}
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(rs, func(r store.Release) bool { return !q.matches(r) }), nil
}

func (q ReleaseQuery) matches(r store.Release) bool {
	return (q.App == "" || r.App == q.App) && (q.Env == "" || r.Env == q.Env)
}

// releasesOf lists the releases of app and env, or of every app and env
// of the inventory when they are empty.
func (s *Service) releasesOf(ctx context.Context, app, env string, limit int) ([]store.Release, error) {
	if app != "" && env != "" {
		return s.Store.ListReleases(ctx, app, env, limit)
	}
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return nil, err
	}
	var all []store.Release
	for _, a := range f.Apps {
		for _, e := range f.Environments {
			if (app != "" && a.Name != app) || (env != "" && e.Name != env) {
				continue
			}
			rs, err := s.Store.ListReleases(ctx, a.Name, e.Name, limit)
			if err != nil {
				return nil, err
			}
			all = append(all, rs...)
		}
	}
	return all, nil
}

// CompareQuery names two releases to compare, among those of App and Env
// when given: each a release id, a run id or a commit prefix.
type CompareQuery struct {
	App, Env string
	A, B     string
}

// Comparison is two releases of one app, A the older, and what lies
// between them.
type Comparison struct {
	A, B store.Release
	deploy.Comparison
}

// CompareReleases finds the releases q names (FindRelease) and compares
// them (Compare), the older as A. Releases of two apps are refused with
// an *InvalidError.
func (s *Service) CompareReleases(ctx context.Context, q CompareQuery) (Comparison, error) {
	a, err := s.FindRelease(ctx, q.App, q.Env, q.A)
	if err != nil {
		return Comparison{}, err
	}
	b, err := s.FindRelease(ctx, q.App, q.Env, q.B)
	if err != nil {
		return Comparison{}, err
	}
	if a.App != b.App {
		return Comparison{}, &InvalidError{fmt.Errorf("%s is a release of %s and %s one of %s: compare releases of one app", q.A, a.App, q.B, b.App)}
	}
	if b.StartedAt < a.StartedAt || b.StartedAt == a.StartedAt && b.ID < a.ID {
		a, b = b, a
	}
	cmp, err := s.Compare(ctx, a, b)
	if err != nil {
		var unknown *UnknownNameError
		if errors.As(err, &unknown) {
			return Comparison{}, err
		}
		return Comparison{}, fmt.Errorf("compare %s and %s: %w", a.ReleaseID, b.ReleaseID, err)
	}
	return Comparison{A: a, B: b, Comparison: cmp}, nil
}

// Compare says what lies between releases a and b of one app (a the
// older): the commits both ways in the app's repository, the migrations
// and requirements that differ, each host's outcome in both runs.
func (s *Service) Compare(ctx context.Context, a, b store.Release) (deploy.Comparison, error) {
	f, err := s.Store.LoadFleet(ctx)
	if err != nil {
		return deploy.Comparison{}, err
	}
	app, ok := f.App(b.App)
	if !ok {
		return deploy.Comparison{}, &UnknownNameError{Kind: "app", Name: b.App, Known: AppNames(f)}
	}
	return deploy.Compare(ctx, s.Store, app.Repo, deploy.SideOf(a), deploy.SideOf(b))
}

// FindRelease finds the release arg names, among those of app and env
// when given: a release id (its deploy, else its newest record), else a
// run id, else a commit prefix that only one release matches (its
// deploy, when a rollback went back to it as well). A prefix that
// matches several releases is refused with an *InvalidError.
func (s *Service) FindRelease(ctx context.Context, app, env, arg string) (store.Release, error) {
	q := ReleaseQuery{App: app, Env: env}
	all, err := s.releasesOf(ctx, app, env, 0)
	if err != nil {
		return store.Release{}, err
	}
	var named []store.Release
	for _, r := range all {
		if r.ReleaseID == arg {
			named = append(named, r)
		}
	}
	if len(named) > 0 {
		return oneRelease(arg, "release id", named)
	}
	if id, perr := strconv.ParseInt(arg, 10, 64); perr == nil && id > 0 {
		r, err := s.Store.ReleaseOfRun(ctx, id)
		switch {
		case err == nil && q.matches(r):
			return r, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return store.Release{}, err
		}
	}
	if len(arg) >= 4 && strings.Trim(strings.ToLower(arg), "0123456789abcdef") == "" {
		rs, err := s.Store.ReleasesByCommit(ctx, strings.ToLower(arg))
		if err != nil {
			return store.Release{}, err
		}
		rs = slices.DeleteFunc(rs, func(r store.Release) bool { return !q.matches(r) })
		if len(rs) > 0 {
			return oneRelease(arg, "commit", rs)
		}
	}
	where := ""
	if app != "" || env != "" {
		where = fmt.Sprintf(" (app %s, env %s)", dash(app), dash(env))
	}
	return store.Release{}, fmt.Errorf("no recorded release matches %q%s: give a release id, a run id or a commit prefix (see opsui releases)", arg, where)
}

// oneRelease is the one release of rs that arg names: the records of one
// release directory of one app and env count once (its deploy first).
func oneRelease(arg, what string, rs []store.Release) (store.Release, error) {
	byDir := map[string]store.Release{}
	var dirs []string
	for _, r := range rs {
		k := r.App + "/" + r.Env + "/" + r.ReleaseID
		prev, seen := byDir[k]
		if !seen {
			dirs = append(dirs, k)
		}
		if !seen || prev.Kind != store.KindDeploy && r.Kind == store.KindDeploy {
			byDir[k] = r
		}
	}
	switch len(dirs) {
	case 0:
		return store.Release{}, fmt.Errorf("no release with %s %s", what, arg)
	case 1:
		return byDir[dirs[0]], nil
	}
	slices.Sort(dirs)
	return store.Release{}, &InvalidError{fmt.Errorf("%s %s is ambiguous: it matches %s; narrow it with --app/--env or give a release id",
		what, arg, strings.Join(dirs, ", "))}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Pending is what deploying a ref would bring to an environment.
type Pending struct {
	// Current is the environment's last successful release; zero (ID 0)
	// before the first, when everything up to Target is pending.
	Current store.Release
	Target  deploy.Source
	// Commits are those the deploy brings, newest first; Behind those
	// running now that Target lacks (deploying it would roll them back).
	Commits, Behind []deploy.Commit
}

// Pending lists the commits between what app runs on env and ref (the
// repository's HEAD when empty).
func (s *Service) Pending(ctx context.Context, app inventory.App, env, ref string) (Pending, error) {
	src, err := deploy.Resolve(ctx, app.Repo, ref)
	if err != nil {
		return Pending{}, err
	}
	p := Pending{Target: src}
	cur, err := s.Store.LatestRelease(ctx, app.Name, env, true)
	if errors.Is(err, store.ErrNotFound) {
		return p, nil
	} else if err != nil {
		return Pending{}, err
	}
	p.Current = cur
	if p.Commits, err = deploy.Log(ctx, app.Repo, cur.Commit, src.Commit, 500); err != nil {
		return Pending{}, fmt.Errorf("commits between %s and %s: %w", deploy.ShortCommit(cur.Commit), deploy.ShortCommit(src.Commit), err)
	}
	if back, err := deploy.Log(ctx, app.Repo, src.Commit, cur.Commit, 500); err == nil {
		p.Behind = back
	}
	return p, nil
}

// Runs lists recorded runs, newest first.
func (s *Service) Runs(ctx context.Context, f store.RunFilter) ([]store.Run, error) {
	return s.Store.ListRuns(ctx, f)
}

// HostRun is a run with one host's part in it.
type HostRun struct {
	Run  store.Run
	Host store.RunHost // zero when the run has no such host
}

// LastRuns lists host's last n runs, newest first, each with the host's
// part in it.
func (s *Service) LastRuns(ctx context.Context, host string, n int) ([]HostRun, error) {
	runs, err := s.Store.ListRuns(ctx, store.RunFilter{Host: host, Limit: n})
	if err != nil {
		return nil, err
	}
	out := make([]HostRun, 0, len(runs))
	for _, r := range runs {
		hr := HostRun{Run: r}
		hosts, err := s.Store.RunHosts(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			if h.Host == host {
				hr.Host = h
			}
		}
		out = append(out, hr)
	}
	return out, nil
}

// RecordedRun is a recorded run with every host's part, to replay.
type RecordedRun struct {
	store.Run
	Hosts []store.RunHost
	// Stream reads the hosts' recorded output page by page, calling fn
	// with each chunk and the index in Hosts of its host, each host's
	// chunks in order. With tail > 0 it starts each host at the chunk
	// where its last tail bytes begin, and that chunk's Skipped says how
	// much came before. A replay reads it into capped rings and never
	// holds the whole run.
	Stream func(ctx context.Context, tail int64, fn func(host int, c OutputChunk) error) error
}

// OutputChunk is a piece of a host's recorded output (Stream is stdout,
// stderr or meta: a pipeline's step marker, "== name"); Skipped counts
// the output bytes before it that a tail stream left out.
type OutputChunk struct {
	store.Chunk
	Skipped int64
}

// Run reads run id with every host's part, to replay it; its output is
// streamed page by page as the replay reads it (RecordedRun.Stream).
func (s *Service) Run(ctx context.Context, id int64) (RecordedRun, error) {
	r, err := s.Store.Run(ctx, id)
	if err != nil {
		return RecordedRun{}, err
	}
	hosts, err := s.Store.RunHosts(ctx, id)
	if err != nil {
		return RecordedRun{}, err
	}
	st := s.Store
	stream := func(ctx context.Context, tail int64, fn func(int, OutputChunk) error) error {
		for i, h := range hosts {
			after, skipped := store.OutputStart, int64(0)
			if tail > 0 {
				var err error
				if after, skipped, err = st.OutputTail(ctx, h.ID, tail); err != nil {
					return fmt.Errorf("run %d, host %s: %w", id, h.Host, err)
				}
			}
			err := st.StreamOutputFrom(ctx, h.ID, after, func(ch store.Chunk) error {
				c := OutputChunk{Chunk: ch, Skipped: skipped}
				skipped = 0
				return fn(i, c)
			})
			if err != nil {
				return fmt.Errorf("run %d, host %s: %w", id, h.Host, err)
			}
		}
		return nil
	}
	return RecordedRun{Run: r, Hosts: hosts, Stream: stream}, nil
}
