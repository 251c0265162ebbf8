package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// hostReleaseTTL is how long a host's current release, once read, is
// taken as still current: new signatures come in bursts, and a deploy
// switching it meanwhile is rarer than the probe is costly.
const hostReleaseTTL = 5 * time.Second

// ErrorTies ties the error groups a logs view or `opsui logs --errors`
// aggregates to the release their first host ran, and records them in the
// store (first seen wins, across opsui processes). It is safe for
// concurrent use; one is made per view or command.
type ErrorTies struct {
	svc   *Service
	fleet *inventory.Fleet
	app   string // "" : the app each host's releases name

	mu    sync.Mutex
	ties  *logs.Ties
	known map[string]tiedHost // by host name
}

// tiedHost is a host's release as last read.
type tiedHost struct {
	hr logs.HostRelease
	ok bool // the host belongs to an app
	at time.Time
}

// FirstSeen is a group's recorded first sighting: the release it was
// first seen in. Where says it as screens print it.
type FirstSeen struct {
	store.ErrorSignature
}

// Where is "20261204171534 (edc515f8)", with how the release is known
// when it was not read from the host: "(edc515f8, from the record)" when
// the host could not be read, "or before" for a line already in the file.
func (f FirstSeen) Where() string {
	if f.FirstReleaseID == "" {
		return "an unknown release"
	}
	s := f.FirstReleaseID
	commit := deploy.ShortCommit(f.FirstCommit)
	switch f.ReleaseFrom {
	case store.FromRecord:
		if commit != "" {
			return s + " (" + commit + ", from the record)"
		}
		return s + " (from the record)"
	case store.FromBacklog:
		if commit != "" {
			s += " (" + commit + ")"
		}
		return s + " or before"
	}
	if commit != "" {
		s += " (" + commit + ")"
	}
	return s
}

// NewErrorTies returns an ErrorTies over fleet f; app names the app whose
// releases the hosts run, "" to find it per host (the only app of the
// fleet, else the app of the host's newest recorded release).
func (s *Service) NewErrorTies(f *inventory.Fleet, app string) *ErrorTies {
	return &ErrorTies{svc: s, fleet: f, app: app, ties: logs.NewTies(), known: map[string]tiedHost{}}
}

// Tie records the sightings of groups not yet reported, each tied to the
// release its first host runs now (read from the host's current link;
// the newest successful release recorded for the host when it cannot be
// read), and returns every group's recorded first sighting by group key.
// A group whose host belongs to no app is left out.
func (t *ErrorTies) Tie(ctx context.Context, groups []logs.Group) (map[string]FirstSeen, error) {
	var hosts []string
	for _, g := range groups {
		if g.FirstHost != "" && !slices.Contains(hosts, g.FirstHost) {
			hosts = append(hosts, g.FirstHost)
		}
	}
	releases := t.hostReleases(ctx, hosts)
	t.mu.Lock()
	sightings := t.ties.Sightings(groups, func(h string) (logs.HostRelease, bool) {
		th := releases[h]
		return th.hr, th.ok
	})
	t.mu.Unlock()
	if err := t.svc.Store.RecordErrorSignatures(ctx, sightings); err != nil {
		t.mu.Lock()
		t.ties.Forget(sightings) // reported again on the next tie
		t.mu.Unlock()
		return nil, err
	}
	// Read back: another opsui may have seen a signature first.
	bySig := map[[2]string][]string{}
	for _, g := range groups {
		if th := releases[g.FirstHost]; th.ok {
			k := [2]string{th.hr.App, th.hr.Env}
			bySig[k] = append(bySig[k], g.Signature())
		}
	}
	recorded := map[[3]string]store.ErrorSignature{}
	for k, sigs := range bySig {
		m, err := t.svc.Store.ErrorSignaturesOf(ctx, k[0], k[1], sigs)
		if err != nil {
			return nil, err
		}
		for sig, r := range m {
			recorded[[3]string{k[0], k[1], sig}] = r
		}
	}
	out := map[string]FirstSeen{}
	for _, g := range groups {
		th := releases[g.FirstHost]
		if r, ok := recorded[[3]string{th.hr.App, th.hr.Env, g.Signature()}]; ok && th.ok {
			out[g.Key] = FirstSeen{r}
		}
	}
	return out, nil
}

// hostReleases returns what each of hosts runs, reading again those not
// read within hostReleaseTTL.
func (t *ErrorTies) hostReleases(ctx context.Context, hosts []string) map[string]tiedHost {
	now := time.Now()
	out := map[string]tiedHost{}
	var reqs []remote.ProbeRequest
	t.mu.Lock()
	for _, name := range hosts {
		if th, ok := t.known[name]; ok && now.Sub(th.at) < hostReleaseTTL {
			out[name] = th
			continue
		}
		th := tiedHost{at: now}
		h, found := t.fleet.Host(name)
		app, ok := t.appOf(ctx, h)
		if !found || !ok {
			t.known[name], out[name] = th, th
			continue
		}
		th.ok, th.hr = true, logs.HostRelease{App: app.Name, Env: h.Env}
		out[name] = th
		if tg, err := remote.ResolveTarget(h, t.svc.SSH); err == nil && t.svc.Conn != nil {
			reqs = append(reqs, remote.ProbeRequest{Target: tg, DeployTo: app.DeployToOn(h)})
		}
	}
	t.mu.Unlock()
	read := map[string]remote.Probe{}
	if len(reqs) > 0 {
		for _, pr := range t.svc.prober().ProbeAll(ctx, reqs) {
			read[pr.Host] = pr
		}
	}
	for name, th := range out {
		if !th.ok || !th.at.Equal(now) {
			continue
		}
		if pr, ok := read[name]; ok && pr.Reachable && pr.Release != "" {
			th.hr.ReleaseID, th.hr.Commit, th.hr.From = pr.Release, pr.Commit, store.FromHost
		} else if r, err := t.recordedRelease(ctx, th.hr.App, th.hr.Env, name); err == nil {
			th.hr.ReleaseID, th.hr.Commit, th.hr.From = r.ReleaseID, r.Commit, store.FromRecord
		}
		out[name] = th
	}
	t.mu.Lock()
	for name, th := range out {
		t.known[name] = th
	}
	t.mu.Unlock()
	return out
}

// appOf is the app host h runs (t.mu held): t's, the fleet's only one, or
// that of the newest release recorded in its environment that went to it.
func (t *ErrorTies) appOf(ctx context.Context, h inventory.Host) (inventory.App, bool) {
	if t.app != "" {
		return t.fleet.App(t.app)
	}
	if len(t.fleet.Apps) == 1 {
		return t.fleet.Apps[0], true
	}
	var newest store.Release
	for _, a := range t.fleet.Apps {
		rs, err := t.svc.Store.ListReleases(ctx, a.Name, h.Env, 20)
		if err != nil {
			continue
		}
		for _, r := range rs {
			if slices.Contains(r.HostList(), h.Name) {
				if r.StartedAt > newest.StartedAt {
					newest = r
				}
				break
			}
		}
	}
	if newest.App == "" {
		return inventory.App{}, false
	}
	return t.fleet.App(newest.App)
}

// recordedRelease is the newest successful release of app/env recorded
// as sent to host.
func (t *ErrorTies) recordedRelease(ctx context.Context, app, env, host string) (store.Release, error) {
	rs, err := t.svc.Store.ListReleases(ctx, app, env, 200)
	if err != nil {
		return store.Release{}, err
	}
	for _, r := range rs {
		if r.Result == store.ReleaseSuccess && slices.Contains(r.HostList(), host) {
			return r, nil
		}
	}
	return store.Release{}, fmt.Errorf("no successful release of %s/%s recorded for %s: %w", app, env, host, store.ErrNotFound)
}

// NewErrors returns the error signatures first seen in release releaseID
// of app/env: the new errors it brought, earliest first.
func (s *Service) NewErrors(ctx context.Context, app, env, releaseID string) ([]FirstSeen, error) {
	rows, err := s.Store.ErrorSignaturesOfRelease(ctx, app, env, releaseID)
	if err != nil {
		return nil, err
	}
	out := make([]FirstSeen, len(rows))
	for i, r := range rows {
		out[i] = FirstSeen{r}
	}
	return out, nil
}

// ReleaseWatch returns the regression watch's recorded verdict on a
// release; ok is false when none was recorded (no watch was asked).
func (s *Service) ReleaseWatch(ctx context.Context, app, env, releaseID string) (w store.ReleaseWatch, ok bool, err error) {
	w, err = s.Store.ReleaseWatchOf(ctx, app, env, releaseID)
	if errors.Is(err, store.ErrNotFound) {
		return w, false, nil
	}
	return w, err == nil, err
}

// WatchWords is a release's watch verdict as every screen says it:
// "watch tripped: regression watch TRIPPED on batch 1/3: new error ...".
func WatchWords(w store.ReleaseWatch) string {
	s := "watch " + w.Verdict.Words()
	if w.Detail != "" {
		s += ": " + w.Detail
	}
	return s
}

// NewErrorWords is a new error of a release as every screen lists it:
// the error, where it was, and when and on which host opsui first saw it.
func NewErrorWords(f FirstSeen) string {
	s := f.Summary
	if f.Frame != "" {
		s += " (" + f.Frame + ")"
	}
	return fmt.Sprintf("%s; first seen on %s at %s UTC, %s", s, f.FirstHost,
		f.FirstSeenAt.Time().UTC().Format("2006-01-02 15:04:05"), deploy.Plural(int(f.Seen), "time", "times"))
}

// maxNewErrorNotes bounds the new errors a release's notes list.
const maxNewErrorNotes = 5

// ReleaseNotes are SafetyNotes with, for each deploy of rs, the watch's
// verdict and the new errors first seen in it, each note starting with
// the release id, app and environment as SafetyNotes' do: the console's
// releases view shows those of the release under its cursor.
func (s *Service) ReleaseNotes(ctx context.Context, rs []store.Release) ([]string, error) {
	out, err := s.SafetyNotes(ctx, rs)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Kind != store.KindDeploy {
			continue
		}
		w, ok, err := s.ReleaseWatch(ctx, r.App, r.Env, r.ReleaseID)
		if err != nil {
			return nil, err
		}
		news, err := s.NewErrors(ctx, r.App, r.Env, r.ReleaseID)
		if err != nil {
			return nil, err
		}
		var wp *store.ReleaseWatch
		if ok {
			wp = &w
		}
		out = append(out, WatchAndErrorNotes(r, wp, news)...)
	}
	return out, nil
}

// WatchAndErrorNotes are release r's notes of its watch verdict (w, nil
// when none was recorded) and of the new errors first seen in it.
func WatchAndErrorNotes(r store.Release, w *store.ReleaseWatch, news []FirstSeen) []string {
	head := r.ReleaseID + " " + r.App + "/" + r.Env + ": "
	var out []string
	if w != nil {
		out = append(out, head+WatchWords(*w))
	}
	for i, n := range news {
		if i == maxNewErrorNotes {
			out = append(out, fmt.Sprintf("%sand %d more new errors (opsui releases --errors %s)", head, len(news)-i, r.ReleaseID))
			break
		}
		out = append(out, head+"new error "+NewErrorWords(n))
	}
	return out
}
