package ops

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// SetupRequest is opsui setup of an app on some hosts of an environment.
type SetupRequest struct {
	Target Target
	// DryRun checks and says what would be done; no host changes.
	DryRun bool
	// Force replaces programs, units and upstream files that differ from
	// what opsui renders.
	Force bool
}

// SetupReport is what opsui setup found and did, host by host in the
// target's order.
type SetupReport struct {
	RunID  int64
	DryRun bool
	Hosts  []SetupHost
}

// SetupHost is one host's report, or why it has none.
type SetupHost struct {
	deploy.SetupHostReport
	// Err says why the host could not be checked (unreachable, the script
	// failed before it reported); nil when its report is complete.
	Err error
}

// Ready reports whether every host is ready for the first deploy.
func (r SetupReport) Ready() bool {
	return !slices.ContainsFunc(r.Hosts, func(h SetupHost) bool { return h.Err != nil || !h.Ready() })
}

// SetupTarget resolves sc for opsui setup: the deploy's hosts and, unless
// hosts or a role are named, the environment's balancers too (their
// upstream file or socket is part of being ready).
func (s *Service) SetupTarget(ctx context.Context, sc Scope) (Target, error) {
	tg, err := s.Target(ctx, sc)
	if err != nil || len(sc.Hosts) > 0 || sc.Role != "" {
		return tg, err
	}
	for _, lb := range tg.Balancers() {
		if !slices.ContainsFunc(tg.Hosts, func(h inventory.Host) bool { return h.Name == lb.Name }) {
			tg.Hosts = append(tg.Hosts, lb)
		}
	}
	return tg, nil
}

// setupTimeout bounds one host's setup: checks, a few files and a
// supervisorctl update.
const setupTimeout = 5 * time.Minute

// Setup takes req's hosts from bare to ready for the app's first deploy,
// idempotently, all hosts at once (deploy.SetupScript says what each
// gets), recorded as a run of kind setup whose output is each host's
// report in its three words. A fleet opsui cannot render for is refused
// with an *InvalidError before anything runs.
func (s *Service) Setup(ctx context.Context, req SetupRequest, emit func(remote.Event)) (SetupReport, error) {
	tg := req.Target
	rep := SetupReport{DryRun: req.DryRun}
	opts := deploy.SetupOptions{DryRun: req.DryRun, Force: req.Force, Wheels: deploy.ShipsWheels(ctx, tg.App.Repo)}
	scripts := map[string]string{}
	for _, h := range tg.Hosts {
		sc, err := deploy.SetupScript(tg.Fleet, tg.App, h, opts)
		if err != nil {
			return rep, &InvalidError{fmt.Errorf("setup %s on %s: %w", tg.App.Name, h.Name, err)}
		}
		scripts[h.Name] = sc
	}
	targets, err := s.Targets(tg.Hosts)
	if err != nil {
		return rep, err
	}
	command := "setup"
	if req.DryRun {
		command += " --dry-run"
	}
	if req.Force {
		command += " --force"
	}
	var mu sync.Mutex
	out := map[string][]string{}
	errs := map[string][]string{}
	res, rec, err := s.Record(ctx, store.NewRun{Kind: store.KindSetup, App: tg.App.Name, Env: tg.Env.Name, Command: command}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			// Each host's script differs (its rendered files): it is the
			// command's standard input, read whole, then run.
			o := remote.RunOptions{Parallel: s.Parallel, Timeout: setupTimeout, Stdin: func(t remote.Target) (remote.Input, error) {
				sc := scripts[t.Name]
				return remote.Input{R: io.NopCloser(strings.NewReader(sc)), Size: int64(len(sc))}, nil
			}}
			return remote.Run(ctx, s.Conn, targets, `opsui_setup=$(cat) && eval "$opsui_setup"`, o, func(ev remote.Event) {
				mu.Lock()
				switch ev.Kind {
				case remote.EventStdout:
					out[ev.Host] = append(out[ev.Host], ev.Line)
				case remote.EventStderr:
					errs[ev.Host] = append(errs[ev.Host], ev.Line)
				}
				mu.Unlock()
				emit(ev)
			})
		})
	if rec != nil {
		rep.RunID = rec.RunID()
	}
	byHost := map[string]remote.HostResult{}
	for _, hr := range res.Hosts {
		byHost[hr.Host] = hr
	}
	for _, t := range targets {
		h := SetupHost{SetupHostReport: deploy.ParseSetupOutput(t.Name, out[t.Name])}
		if hr, ok := byHost[t.Name]; !ok {
			h.Err = fmt.Errorf("not run")
		} else if hr.Status != remote.StatusOK && h.Ready() {
			h.Err = hr.Err
			if e := errs[t.Name]; len(e) > 0 {
				h.Err = fmt.Errorf("%v: %s", hr.Err, strings.Join(e[max(0, len(e)-3):], "; "))
			}
		}
		rep.Hosts = append(rep.Hosts, h)
	}
	return rep, err
}
