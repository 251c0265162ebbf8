package ops

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// Service is what every recorded operation needs, wired once by its
// caller: the store that records runs, the connector that reaches hosts,
// the SSH configuration that resolves them, and who asks and how. The CLI
// builds one per command, the console one per session, and both call the
// same operations on it, so an operation is written once. The packages
// below ops (remote, record, deploy, cache, logs) never import it.
type Service struct {
	Store    *store.Store
	Conn     remote.Connector
	SSH      remote.SSHConfig
	Operator string
	// Args say how the operator asked, in each run's record: the command
	// line's arguments, or "console".
	Args []string
	// Prober reads the hosts' state for the status panel and their
	// releases for a deploy's preview; nil: a new one on Conn each time.
	// The console keeps one for its session: it knows the hosts whose
	// probes hang.
	Prober *remote.Prober
	// Parallel bounds the hosts a deploy, rollback or migrate works on at
	// once (remote.DefaultParallel when 0).
	Parallel int
}

// IO is how a running operation talks to whoever asked: Emit takes the
// hosts' events (called from many goroutines at once, must not block), Say
// the operation's own messages, Confirm a question put to the operator
// (the canary's go-ahead; it blocks until the answer or ctx ends). A nil
// Emit or Say drops what it would get; a nil Confirm leaves the decision
// to the plan (Strategy.CanaryWait).
type IO struct {
	Emit    func(remote.Event)
	Say     func(string)
	Confirm func(ctx context.Context, question string) (bool, error)
	// Watch gets the regression watch's status about once a second (a
	// deploy's); nil drops it. It must not block.
	Watch func(deploy.WatchStatus)
}

// orQuiet is io with a no-op for a nil Emit or Say.
func (io IO) orQuiet() IO {
	if io.Emit == nil {
		io.Emit = func(remote.Event) {}
	}
	if io.Say == nil {
		io.Say = func(string) {}
	}
	return io
}

// InvalidError says a request was refused before anything ran or was
// recorded (e.g. negative options): the caller's input is at fault.
type InvalidError struct{ Err error }

func (e *InvalidError) Error() string { return e.Err.Error() }
func (e *InvalidError) Unwrap() error { return e.Err }

// RecordError says an operation ran but its record could not be finished;
// the operation's result is still valid. Its text is the recorder's.
type RecordError struct {
	RunID int64
	Err   error
}

func (e *RecordError) Error() string { return e.Err.Error() }
func (e *RecordError) Unwrap() error { return e.Err }

// Targets resolves hosts with the service's SSH configuration.
func (s *Service) Targets(hosts []inventory.Host) ([]remote.Target, error) {
	return remote.ResolveTargets(hosts, s.SSH)
}

// Record is the one "start a recorder, run the operation, finish the
// record": it records a run of nr, whose operator and arguments are the
// service's and whose hosts are the targets, runs op with an emit that
// records every event and passes it on to emit (may be nil), and finishes
// the record even when ctx was cancelled, so no run stays "running". It
// returns op's result, the finished recorder (its run id and counters; nil
// when the run could not be recorded) and op's error, else a *RecordError
// when the record could not be finished.
func (s *Service) Record(ctx context.Context, nr store.NewRun, targets []remote.Target, emit func(remote.Event),
	op func(emit func(remote.Event)) (remote.Result, error)) (remote.Result, *record.Recorder, error) {
	if s.Store == nil {
		return remote.Result{}, nil, errors.New("ops: Record without a store")
	}
	nr.Operator, nr.Args, nr.Hosts = s.Operator, s.Args, make([]string, len(targets))
	for i, t := range targets {
		nr.Hosts[i] = t.Name
	}
	rec, err := record.StartRecorder(ctx, s.Store, nr)
	if err != nil {
		return remote.Result{}, nil, err
	}
	if emit == nil {
		emit = func(remote.Event) {}
	}
	res, err := op(func(ev remote.Event) {
		rec.Event(ev)
		emit(ev)
	})
	if ferr := rec.Finish(context.WithoutCancel(ctx), res); ferr != nil && err == nil {
		err = &RecordError{RunID: rec.RunID(), Err: ferr}
	}
	return res, rec, err
}

// ExecRequest is an ad-hoc command for hosts.
type ExecRequest struct {
	Hosts   []inventory.Host
	Command string
	Options remote.RunOptions
	// App, when set, runs the command in that app's current release with
	// its shared/.env loaded (exec_app.go).
	App string
}

// Exec runs req's command on its hosts as Run does, recorded as an exec
// run (Record says what it returns). Invalid options are refused with an
// *InvalidError before anything is recorded.
func (s *Service) Exec(ctx context.Context, req ExecRequest, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
	if err := req.Options.Validate(); err != nil {
		return remote.Result{}, nil, &InvalidError{err}
	}
	app, err := s.execApp(ctx, req.App)
	if err != nil {
		return remote.Result{}, nil, err
	}
	targets, err := s.Targets(req.Hosts)
	if err != nil {
		return remote.Result{}, nil, err
	}
	cmd, opts, env := req.Command, req.Options, ""
	if app != nil {
		cmd, opts = appExec(*app, req.Hosts, cmd, opts)
		env = soleEnv(req.Hosts)
	}
	return s.Record(ctx, store.NewRun{Kind: store.KindExec, App: req.App, Env: env, Command: req.Command}, targets, emit,
		func(emit func(remote.Event)) (remote.Result, error) {
			res, err := remote.Run(ctx, s.Conn, targets, cmd, opts, emit)
			if err != nil {
				return res, fmt.Errorf("exec: %w", err)
			}
			return res, nil
		})
}
