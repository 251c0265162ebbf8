package peerbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/ops/remote"
)

// opsui's own rows: the engine in package ops, set up as every peer is
// (only the fleet's known_hosts and key, no agent, no ~/.ssh), with as many
// hosts at once as there are hosts (RunOptions.Parallel = N, like the peers'
// -p N).
//
// The "Pool + Session" rows time remote.Pool's connections with one plain
// session per host, no Run: the part of opsui's cost that is dialing, key
// exchange and authentication. The "Run" rows add the engine: remote.Run's
// remote wrapper (the process-group watchdog), line splitting and events.
// The upload is remote.Run with RunOptions.Stdin streaming the artifact to
// every host from one shared file (io.SectionReader: no per-host copy in
// memory).

// opsuiUnamePeers are opsui's rows of the `uname -n` table.
func opsuiUnamePeers() []peer {
	const cmd = "uname -n"
	return []peer{
		{id: "opsui-pool-cold", label: "opsui: new Pool + Session (cold)", open: openPoolCold(cmd)},
		{id: "opsui-pool-warm", label: "opsui: Session on a warm Pool", open: openPoolWarm(cmd)},
		{id: "opsui-cold", label: "opsui: new Pool + remote.Run (cold)", open: openRunCold(cmd, false)},
		{id: "opsui-warm", label: "opsui: remote.Run on a warm Pool", open: openRunWarm(cmd)},
	}
}

// opsuiUploadPeers are opsui's rows of the upload table.
func opsuiUploadPeers() []peer {
	return []peer{
		{id: "opsui-upload", label: "opsui: remote.Run + Stdin (cold Pool)", open: openRunCold("cat > "+uploadName, true)},
	}
}

// opsuiTargets are the fleet's hosts as opsui's inventory would give them.
func opsuiTargets(e *env, hosts []*sshtest.Host) []remote.Target {
	targets := make([]remote.Target, len(hosts))
	for i, h := range hosts {
		targets[i] = remote.Target{Name: h.Name, Addr: h.Address(), User: e.fleet.User,
			IdentityFiles: []string{e.fleet.ClientKeyPath}}
	}
	return targets
}

// newPool returns a pool that trusts only the fleet's known_hosts and
// offers only the fleet's key (no agent, no ~/.ssh), like every peer.
func newPool(e *env) *remote.Pool {
	return remote.NewPool(remote.Options{KnownHostsFiles: []string{e.fleet.KnownHostsPath}})
}

// poolRound runs script in one Pool.Session per target, all at once, and
// returns the wall time and the answers.
func poolRound(ctx context.Context, pool *remote.Pool, targets []remote.Target, script string) (time.Duration, map[string]string, error) {
	answers := make([]string, len(targets))
	errs := make([]error, len(targets))
	start := time.Now()
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() {
			s, err := pool.Session(ctx, t)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
			defer s.Close()
			out, err := s.Output(script)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", t.Name, err)
				return
			}
			answers[i] = strings.TrimSpace(string(out))
		})
	}
	wg.Wait()
	d := time.Since(start)
	got := make(map[string]string, len(targets))
	for i, t := range targets {
		if errs[i] == nil {
			got[t.Name] = answers[i]
		}
	}
	return d, got, errors.Join(errs...)
}

// openPoolCold times a new Pool per round; closing it is untimed.
func openPoolCold(script string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		targets := opsuiTargets(e, hosts)
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			pool := newPool(e)
			defer pool.Close()
			return poolRound(ctx, pool, targets, script)
		}
		return r, func() error { return nil }, nil
	}
}

// openPoolWarm opens one Pool with an untimed round of `true` and times
// rounds on it. Close fails when the pool had to dial again during the
// rounds (they were then not all warm).
func openPoolWarm(script string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(ctx context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		targets := opsuiTargets(e, hosts)
		pool := newPool(e)
		if _, _, err := poolRound(ctx, pool, targets, "true"); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("warming the pool: %w", err)
		}
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			return poolRound(ctx, pool, targets, script)
		}
		return r, func() error { return closeWarm(pool) }, nil
	}
}

// opsRun runs script with remote.Run on every target at once and returns the
// wall time and each host's stdout. With upload, every host's stdin is the
// artifact, read through its own SectionReader of the one open file.
func opsRun(ctx context.Context, e *env, pool *remote.Pool, targets []remote.Target, script string, upload bool) (time.Duration, map[string]string, error) {
	opts := remote.RunOptions{Parallel: len(targets)}
	if upload {
		f, err := os.Open(e.upload)
		if err != nil {
			return 0, nil, err
		}
		defer f.Close()
		opts.Stdin = func(remote.Target) (remote.Input, error) {
			return remote.Input{R: io.NewSectionReader(f, 0, uploadSize), Size: uploadSize}, nil
		}
	}
	var mu sync.Mutex
	stdout := make(map[string]*strings.Builder, len(targets))
	emit := func(ev remote.Event) {
		if ev.Kind != remote.EventStdout {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		b := stdout[ev.Host]
		if b == nil {
			b = new(strings.Builder)
			stdout[ev.Host] = b
		}
		b.WriteString(ev.Line + "\n")
	}
	start := time.Now()
	res, err := remote.Run(ctx, pool, targets, script, opts, emit)
	d := time.Since(start)
	if err != nil {
		return d, nil, err
	}
	answers := make(map[string]string, len(targets))
	for _, h := range res.Hosts {
		if h.Status == remote.StatusOK {
			answers[h.Host] = ""
			if b := stdout[h.Host]; b != nil {
				answers[h.Host] = strings.TrimSpace(b.String())
			}
		}
	}
	if res.OK != len(targets) {
		return d, answers, fmt.Errorf("%s: %w", res.Summary(), res.Err())
	}
	return d, answers, nil
}

// openRunCold times a new Pool and remote.Run per round; closing the pool is
// untimed.
func openRunCold(script string, upload bool) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		targets := opsuiTargets(e, hosts)
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			pool := newPool(e)
			defer pool.Close()
			return opsRun(ctx, e, pool, targets, script, upload)
		}
		return r, func() error { return nil }, nil
	}
}

// openRunWarm opens one Pool with an untimed remote.Run of `true` and times
// remote.Run on it each round.
func openRunWarm(script string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(ctx context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		targets := opsuiTargets(e, hosts)
		pool := newPool(e)
		if _, _, err := opsRun(ctx, e, pool, targets, "true", false); err != nil {
			pool.Close()
			return nil, nil, fmt.Errorf("warming the pool: %w", err)
		}
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			return opsRun(ctx, e, pool, targets, script, false)
		}
		return r, func() error { return closeWarm(pool) }, nil
	}
}

// closeWarm closes a warm pool and fails when it had to dial a host again
// during the rounds (they were then not all warm).
func closeWarm(pool *remote.Pool) error {
	var redialed []string
	for name, n := range pool.Stats().Dials {
		if n > 1 {
			redialed = append(redialed, fmt.Sprintf("%s dialed %d times", name, n))
		}
	}
	pool.Close()
	if len(redialed) > 0 {
		return fmt.Errorf("the warm pool dialed again: %s", firstFew(redialed))
	}
	return nil
}
