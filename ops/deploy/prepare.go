package deploy

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// prepare runs the phase before the first switch on every host still to
// do: the upload (and shared/.env, when the app declares an environment),
// then the prepare steps. Each host goes through its steps on its own, so
// a fast host is never held at every step by a slow one; the barrier that
// matters, every host prepared before the first switch, is the caller's.
//
// A step that runs once (the migration) is the one meeting point: it
// starts as soon as the hosts it may run on (those with the db-migrate
// role, when any has it) are through the steps before it, not when every
// host is, and the steps after it wait for it. The preset's migration
// does not wait for the preset's collectstatic: it runs alongside
// (prepare_along.go), its events held so each pane reads in step order
// (prepare_lanes.go). prepare returns how long
// the upload took until the last host had its release unpacked.
func (r *runner) prepare(ctx context.Context, artifact string, envs map[string]EnvFile, steps []Step) (time.Duration, error) {
	f, err := os.Open(artifact)
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("upload: %w", err)
	}
	r.say("uploading %d KiB to %s", fi.Size()>>10, Plural(len(r.hosts), "host", "hosts"))
	r.static.dir = filepath.Dir(artifact) // the static tree built once is kept beside the artifact
	began := time.Now()
	var mu sync.Mutex
	var uploaded time.Duration
	upload := func(h *hostRun) {
		r.events.stage(h, StepUpload)
		in := remote.Input{R: io.NewSectionReader(f, 0, fi.Size()), Size: fi.Size()}
		env := r.plan.env(h.host, Step{Name: StepUpload})
		if r.plan.Resume {
			env["OPSUI_RESUME"] = "1"
		}
		if _, ok := r.runStep(ctx, h, StepUpload, uploadScript, env, 0, &in, true); ok && envs != nil {
			r.writeEnv(ctx, h, envs[h.host.Name])
		}
		r.clock.done(h.host.Name)
		mu.Lock()
		uploaded = max(uploaded, time.Since(began))
		mu.Unlock()
	}

	// The steps, cut at each step that runs once.
	var segments [][]Step
	var onces []Step
	seg := []Step{}
	for _, s := range steps {
		if s.Once {
			segments, onces, seg = append(segments, seg), append(onces, s), []Step{}
			continue
		}
		seg = append(seg, s)
	}
	segments = append(segments, seg)
	defer func() { r.events.lanes = nil }()

	for k, seg := range segments {
		var hs []*hostRun
		for _, h := range r.hosts {
			if h.todo() {
				hs = append(hs, h)
			}
		}
		// The once step after this segment, started as soon as its host is
		// through the steps before it (onceRun.through): the segment, or
		// its head when the steps at its end may run alongside.
		var once *onceRun
		before, along := seg, []Step(nil)
		r.events.lanes = nil // set only while no host runs
		if k < len(onces) {
			before, along = alongside(seg, onces[k])
			once = r.newOnceRun(ctx, onces[k], hs)
			if len(along) > 0 {
				r.events.lanes = newLanes(hs)
				once.side, once.along = true, along
			}
		}
		r.forEach(hs, func(h *hostRun) {
			if k == 0 {
				upload(h)
			}
			r.runSteps(ctx, before, h)
			once.through(h)
			r.runSteps(ctx, along, h)
			r.events.lanes.of(h.host.Name).join(r.events.emit)
		})
		once.wait()
	}
	return uploaded, nil
}

// onceRun is a step that runs once, waiting for its candidate hosts.
type onceRun struct {
	r          *runner
	ctx        context.Context
	step       Step
	candidates map[*hostRun]bool
	mu         sync.Mutex
	left       int
	ready      map[*hostRun]bool // candidates through the steps before it
	started    bool
	done       chan struct{}
	deferred   bool   // no candidate was left: run it on any live host
	side       bool   // it runs alongside its host's own steps (lanes)
	along      []Step // those steps
}

// newOnceRun prepares step s to run on one of hs: those with the
// db-migrate role when any has it (onceHost would pick one of them), else
// every host it applies to.
func (r *runner) newOnceRun(ctx context.Context, s Step, hs []*hostRun) *onceRun {
	o := &onceRun{r: r, ctx: ctx, step: s, candidates: map[*hostRun]bool{}, ready: map[*hostRun]bool{}, done: make(chan struct{})}
	var migrators []*hostRun
	for _, h := range hs {
		if s.AppliesTo(h.host) {
			o.candidates[h] = true
			if h.host.HasRole(RoleMigrate) {
				migrators = append(migrators, h)
			}
		}
	}
	if len(migrators) > 0 {
		clear(o.candidates)
		for _, h := range migrators {
			o.candidates[h] = true
		}
	}
	o.left = len(o.candidates)
	if o.left == 0 {
		close(o.done)
	}
	return o
}

// through notes that h is through the steps before the once step. The
// step starts as soon as the host onceHost would pick is known and ready:
// the first live candidate in the plan's order, once it is through and
// every candidate before it has failed. Waiting for the others would pick
// the same host, later.
func (o *onceRun) through(h *hostRun) {
	if o == nil || !o.candidates[h] {
		return
	}
	o.mu.Lock()
	o.left--
	o.ready[h] = true
	var on *hostRun
	if !o.started {
		on = o.first()
		o.started = on != nil
	}
	last := o.left == 0
	deferred := !o.started && last
	o.started = o.started || deferred
	o.mu.Unlock()
	switch {
	case deferred:
		// Every candidate failed: wait runs it on whichever host is left
		// once all are through, as a step run by itself would.
		o.deferred = true
		close(o.done)
	case on != nil:
		go o.run(on)
	}
}

// first returns the candidate the step runs on when it may start now, or
// nil; the caller holds o.mu.
func (o *onceRun) first() *hostRun {
	for _, c := range o.r.hosts { // in the plan's order, as onceHost expects
		switch {
		case !o.candidates[c] || !c.todo():
		case o.ready[c]:
			return c
		default:
			return nil // an earlier candidate is still at work
		}
	}
	return nil
}

// run runs the step on h, alongside h's own steps when o.side. A host
// that failed since it was chosen leaves the step to wait, which runs it
// on whichever host is left.
func (o *onceRun) run(h *hostRun) {
	defer close(o.done)
	on := stepHosts(o.step, []*hostRun{h})
	if len(on) == 0 {
		o.deferred = true
		return
	}
	defer o.r.onceRan(o.step, on)
	if !o.side {
		o.r.step(o.ctx, o.step, on)
		return
	}
	for _, h := range on {
		l := o.r.events.lanes.of(h.host.Name)
		own := slices.DeleteFunc(slices.Clone(o.along), func(s Step) bool { return !s.AppliesTo(h.host) })
		if l.begin() && len(own) > 0 {
			o.r.say("%s: %s starts alongside its %s; its output follows", h.host.Name, o.step.Name, names(own))
		}
		o.r.runOn(sideContext(o.ctx), o.step, h)
		l.end(o.r.events.emit)
	}
}

// wait waits for the once step to have run (at once when there is none).
func (o *onceRun) wait() {
	if o == nil {
		return
	}
	<-o.done
	if o.deferred {
		on := stepHosts(o.step, o.r.hosts)
		o.r.step(o.ctx, o.step, o.r.hosts)
		o.r.onceRan(o.step, on)
	}
}

// onceRan notes when step s, which runs once, did not run to its end on
// the host it ran on: a migration that did not finish (a failed command,
// or its host lost halfway, whatever else failed there first) leaves the
// schema unknown, so no host may be switched to code that needs it,
// whatever --max-fail allows.
func (r *runner) onceRan(s Step, on []*hostRun) {
	for _, h := range on {
		if ok, _ := r.onceOK.Load(onceKey(h, s)); ok != true {
			r.onceFailed = fmt.Sprintf("%s did not finish on %s", s.Name, h.host.Name)
		}
	}
}
