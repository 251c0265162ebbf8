package ops

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// MaintenanceRequest turns maintenance mode on or off for Target's app in
// its environment: every balancer answers 503 with Message and
// Retry-After, or the app again.
type MaintenanceRequest struct {
	Target Target
	On     bool
	// Message and RetryAfter are the answer while on; "" and 0 take
	// deploy.DefaultMaintenanceMessage and deploy.DefaultRetryAfter.
	Message    string
	RetryAfter time.Duration
}

// state is the request as the balancers are told it, defaults filled in.
func (r MaintenanceRequest) state() deploy.MaintenanceState {
	st := deploy.MaintenanceState{On: r.On}
	if r.On {
		st.Message, st.RetryAfter = r.Message, r.RetryAfter
		if strings.TrimSpace(st.Message) == "" {
			st.Message = deploy.DefaultMaintenanceMessage
		}
		if st.RetryAfter == 0 {
			st.RetryAfter = deploy.DefaultRetryAfter
		}
	}
	return st
}

// Maintenance puts every balancer of the request's environment in or out
// of maintenance, all or none, recorded as a run of kind maintenance (in
// opsui audit) with the state row the header and `opsui maintenance` read.
// A message or Retry-After the balancers cannot send, or a balancer that
// cannot answer 503, is refused with an *InvalidError before anything is
// recorded. It returns the state recorded (unchanged when it failed).
func (s *Service) Maintenance(ctx context.Context, req MaintenanceRequest, emit func(remote.Event)) (store.Maintenance, *record.Recorder, error) {
	tg := req.Target
	st := req.state()
	if err := st.Check(); err != nil {
		return store.Maintenance{}, nil, &InvalidError{err}
	}
	o, targets, err := s.maintenanceOptions(tg)
	if err != nil {
		return store.Maintenance{}, nil, err
	}
	before, err := s.Store.MaintenanceOf(ctx, tg.App.Name, tg.Env.Name)
	if err != nil {
		return store.Maintenance{}, nil, err
	}
	now := time.Now()
	o.About = fmt.Sprintf("since %s by %s", now.UTC().Format(time.RFC3339), s.Operator)
	command := "maintenance off"
	if st.On {
		// One line: the audit and the past runs list show it as one.
		command = fmt.Sprintf("maintenance on (Retry-After %s): %s", st.RetryAfter, strings.ReplaceAll(st.Message, "\n", " ⏎ "))
	}
	var hosts []deploy.MaintenanceHost
	_, rec, err := s.Record(ctx, store.NewRun{Kind: store.KindMaintenance, App: tg.App.Name, Env: tg.Env.Name, Command: command}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			began := time.Now()
			for _, t := range targets {
				emit(remote.Event{Host: t.Name, Kind: remote.EventStarted, Time: began})
			}
			o.Note = func(host, line string) {
				emit(remote.Event{Host: host, Kind: remote.EventStdout, Time: time.Now(), Line: line, Raw: []byte(line + "\n")})
			}
			var err error
			hosts, err = deploy.SetMaintenance(ctx, o, st)
			return maintenanceResult(targets, hosts, time.Since(began)), err
		})
	if err != nil {
		return before, rec, err
	}
	m := store.Maintenance{App: tg.App.Name, Env: tg.Env.Name, On: st.On, Message: st.Message,
		RetryAfter: int64(st.RetryAfter / time.Second), Operator: s.Operator, Since: store.MillisOf(now)}
	if rec != nil {
		m.RunID = rec.RunID()
	}
	if err := s.Store.SetMaintenance(context.WithoutCancel(ctx), m); err != nil {
		return before, rec, fmt.Errorf("the balancers are in maintenance %s, but %w", onOff(st.On), err)
	}
	return m, rec, nil
}

// maintenanceOptions are the balancers of tg's environment as maintenance
// mode works on them; a balancer that cannot answer 503 is an
// *InvalidError naming it.
func (s *Service) maintenanceOptions(tg Target) (deploy.MaintenanceOptions, []remote.Target, error) {
	o := deploy.MaintenanceOptions{Conn: s.Conn, Fleet: tg.Fleet, App: tg.App.Name, Env: tg.Env.Name}
	lbs, err := deploy.MaintenanceBalancers(o)
	if err != nil {
		return o, nil, &InvalidError{err}
	}
	o.Targets = map[string]remote.Target{}
	targets, err := s.Targets(lbs)
	if err != nil {
		return o, nil, err
	}
	for _, t := range targets {
		o.Targets[t.Name] = t
	}
	return o, targets, nil
}

// maintenanceResult is the run's result: each balancer ok when it answers
// as asked, failed when it failed or was put back, skipped when never
// reached.
func maintenanceResult(targets []remote.Target, hosts []deploy.MaintenanceHost, d time.Duration) remote.Result {
	by := map[string]deploy.MaintenanceHost{}
	for _, h := range hosts {
		by[h.Balancer] = h
	}
	var out []remote.HostResult
	for _, t := range targets {
		h, ok := by[t.Name]
		switch {
		case !ok:
			continue // the recorder marks it skipped
		case h.Changed:
			out = append(out, remote.HostResult{Host: t.Name, Status: remote.StatusOK, Duration: d})
		default:
			err := h.Err
			if h.PutBack {
				err = errors.New("put back as it was: another balancer failed")
			}
			out = append(out, remote.HostResult{Host: t.Name, Status: remote.StatusFailed, Code: 1, Class: remote.ClassExit, Err: err, Duration: d})
		}
	}
	return remote.NewResult(out, d)
}

// MaintenanceStates returns the recorded maintenance states, every app and
// environment ever put in maintenance, or only those on now.
func (s *Service) MaintenanceStates(ctx context.Context, onOnly bool) ([]store.Maintenance, error) {
	return s.Store.Maintenances(ctx, onOnly)
}

// InMaintenance returns the apps in maintenance now, for the console's
// header.
func (s *Service) InMaintenance(ctx context.Context) ([]store.Maintenance, error) {
	return s.Store.Maintenances(ctx, true)
}

// MaintenanceOf returns the recorded maintenance state of tg's app in its
// environment (Since 0: never put in maintenance).
func (s *Service) MaintenanceOf(ctx context.Context, tg Target) (store.Maintenance, error) {
	return s.Store.MaintenanceOf(ctx, tg.App.Name, tg.Env.Name)
}

// BalancerMaintenance reads what each balancer of tg's environment answers
// now, to compare with the record.
func (s *Service) BalancerMaintenance(ctx context.Context, tg Target) ([]deploy.BalancerMaintenance, error) {
	o, _, err := s.maintenanceOptions(tg)
	if err != nil {
		return nil, err
	}
	return deploy.ReadMaintenance(ctx, o)
}

// MaintenanceLine says a maintenance state in the words the console's
// header and `opsui maintenance` share: "MAINTENANCE shop/production since
// 03:12 (ann)", the time local, with its date when not today; "shop/staging:
// maintenance off since …" when off.
func MaintenanceLine(m store.Maintenance, now time.Time) string {
	since := m.Since.Time().In(now.Location())
	when := since.Format("15:04")
	if y, mo, d := since.Date(); y != now.Year() || mo != now.Month() || d != now.Day() {
		when = since.Format("2006-01-02 15:04")
	}
	who := m.Operator
	if u, _, ok := strings.Cut(who, "@"); ok && u != "" {
		who = u // ann@laptop: the header has no room for the machine
	}
	if !m.On {
		return fmt.Sprintf("%s/%s: maintenance off since %s (%s)", m.App, m.Env, when, who)
	}
	return fmt.Sprintf("MAINTENANCE %s/%s since %s (%s)", m.App, m.Env, when, who)
}

func onOff(on bool) string {
	if on {
		return "on"
	}
	return "off"
}
