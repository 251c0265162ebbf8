// Package capbench measures opsui's deploy side by side with Capistrano's
// (issue 21): the same demo Django app (internal/demoapp), the same real
// sshd hosts (internal/sshtest), the same client key and known_hosts, the
// same work on every host, in interleaved rounds, each deploying a new
// commit that every host must serve before the round counts.
//
// The comparison is BenchmarkDeployVsCapistrano, in this package's tests;
// testdata/cap holds the Capfile, config/deploy.rb and the stage file
// Capistrano runs (`cap production deploy`, Debian's capistrano 3.17).
//
// What each side does per host, per deploy:
//
//   - opsui (ops/deploy with the django preset, strategy all, a new
//     connection pool per deploy as the CLI has): inspect and lock, upload
//     of the release cut once with `git archive` on the operator's machine,
//     REVISION, link shared/logs, a virtualenv per release, collectstatic
//     once (static: once: on the first host through its build, its tree
//     unpacked on the others; OPSUI_CAPBENCH_STATIC=per_host runs it on
//     every host, as the Capfile does), migrate once (first web host),
//     atomic switch of current, gunicorn HUP, health from the host until
//     /health/ names the commit, cleanup (keep 5), record, unlock.
//   - Capistrano (stock flow, git SCM): git ls-remote, mkdir of shared/ and
//     releases/, `git remote update` of the host's mirror of the repository
//     and `git archive | tar` into the release, REVISION, link shared/logs,
//     then testdata/cap's tasks: the same virtualenv, collectstatic, migrate
//     once (primary db host, the first), the stock atomic switch (ln -s +
//     mv), gunicorn HUP, health from the host until /health/ names the
//     commit (every 0.1 s: a careful recipe, not a handicap), then stock
//     cleanup (keep 5) and revisions.log.
//
// The two sides deploy to their own deploy_to and gunicorn port on each
// host (opsui ~/srv/opsui on :8000, Capistrano ~/srv/cap on :8001), so
// neither sees the other's releases. This file holds the pure parts: the
// knobs, the servers file, the served-commit check and the report.
package capbench

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/internal/peerbench"
)

// The benchmark's knobs, all optional.
const (
	// EnvSizes lists the fleet sizes: "2,10,50" by default.
	EnvSizes = "OPSUI_CAPBENCH_SIZES"
	// EnvRounds sets the timed rounds per size (default 3), each one
	// deploy by each tool, in alternating order.
	EnvRounds = "OPSUI_CAPBENCH_ROUNDS"
	// EnvWorkers sets gunicorn's workers per host, on both sides
	// (default 1: 2 shared cores reload every host's workers each round).
	EnvWorkers = "OPSUI_CAPBENCH_WORKERS"
	// EnvLogDir names an existing directory that receives the output of
	// every Capistrano deploy (cap-hostsN-K.log; Airbrussh times each
	// command) and opsui's stages, output and messages of every deploy,
	// each with its time since the deploy began (opsui-hostsN-K.log).
	EnvLogDir = "OPSUI_CAPBENCH_LOG"
	// EnvSwitch set to 1 runs TestOneRound (skipped otherwise: it takes
	// about 30 s) and makes a missing tool fail it; set to 0 it skips
	// BenchmarkDeployVsCapistrano (`make bench` runs every benchmark).
	EnvSwitch = "OPSUI_CAPBENCH"
	// EnvRTT sets a round trip added between the tools and every host
	// (sshtest.WithLatency: a proxy before each sshd), as on a real
	// network; loopback has none (default 0).
	EnvRTT = "OPSUI_CAPBENCH_RTT"
	// EnvStatic sets opsui's static: option (once, the default, or
	// per_host: collectstatic on every host, as Capistrano does), to
	// measure what building static once saves.
	EnvStatic = "OPSUI_CAPBENCH_STATIC"
)

// Defaults of the knobs.
var (
	DefaultSizes  = []int{2, 10, 50}
	DefaultRounds = 3
)

// ServersFile is the file config/deploy/production.rb reads: one
// "address port" line per host, the primary db host first.
func ServersFile(addrs []string, ports []int) string {
	var b strings.Builder
	for i, a := range addrs {
		fmt.Fprintf(&b, "%s %d\n", a, ports[i])
	}
	return b.String()
}

// CheckServed returns an error unless the /health/ body of host shows the
// demo app healthy with commit and, when release is not empty, release.
func CheckServed(host, body, commit, release string) error {
	fields := strings.Fields(body)
	if len(fields) == 0 || fields[0] != "ok" {
		return fmt.Errorf("%s: /health/ answered %q, want ok", host, clip(body))
	}
	if !slices.Contains(fields, "commit="+commit) {
		return fmt.Errorf("%s serves %q, want commit %s", host, clip(body), commit)
	}
	if release != "" && !slices.Contains(fields, "release="+release) {
		return fmt.Errorf("%s serves %q, want release %s", host, clip(body), release)
	}
	return nil
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// Phases is opsui's split of one deploy (ops/deploy's Timing).
type Phases struct {
	Artifact, Lock, Upload, Prepare, Activate, Total time.Duration
}

// Sample is one round at one size: each tool's wall time and client CPU,
// and opsui's phases.
type Sample struct {
	Opsui, Cap       time.Duration
	OpsuiCPU, CapCPU time.Duration
	Phases           Phases
}

// Size is every round of one fleet size.
type Size struct {
	Hosts   int
	Samples []Sample
}

func medianOf(ss []Sample, f func(Sample) time.Duration) time.Duration {
	ds := make([]time.Duration, len(ss))
	for i, s := range ss {
		ds[i] = f(s)
	}
	return peerbench.Median(ds)
}

// Ratio is the median of the rounds' opsui/Capistrano ratios.
func (s Size) Ratio() float64 {
	rs := make([]float64, len(s.Samples))
	for i, x := range s.Samples {
		rs[i] = x.Opsui.Seconds() / x.Cap.Seconds()
	}
	slices.Sort(rs)
	switch n := len(rs); {
	case n == 0:
		return 0
	case n%2 == 1:
		return rs[n/2]
	default:
		return (rs[n/2-1] + rs[n/2]) / 2
	}
}

// Report renders the sizes as two markdown tables: the medians and ratio
// per size, and opsui's phases per size (medians of each phase, so they
// need not add up to the median total).
func Report(sizes []Size) string {
	sec := peerbench.FormatSeconds
	main := peerbench.Table{Header: []string{"hosts", "rounds", "opsui median", "Capistrano median", "ratio (target ≤ 0.5)", "opsui CPU", "Capistrano CPU"}}
	phases := peerbench.Table{Header: []string{"hosts", "artifact", "lock", "upload", "prepare", "activate", "rest", "total"}}
	for _, s := range sizes {
		if len(s.Samples) == 0 {
			continue
		}
		med := func(f func(Sample) time.Duration) time.Duration { return medianOf(s.Samples, f) }
		main.Rows = append(main.Rows, []string{strconv.Itoa(s.Hosts), strconv.Itoa(len(s.Samples)),
			sec(med(func(x Sample) time.Duration { return x.Opsui })), sec(med(func(x Sample) time.Duration { return x.Cap })),
			fmt.Sprintf("%.2f", s.Ratio()),
			sec(med(func(x Sample) time.Duration { return x.OpsuiCPU })), sec(med(func(x Sample) time.Duration { return x.CapCPU }))})
		p := func(f func(Phases) time.Duration) string {
			return sec(med(func(x Sample) time.Duration { return f(x.Phases) }))
		}
		phases.Rows = append(phases.Rows, []string{strconv.Itoa(s.Hosts),
			p(func(p Phases) time.Duration { return p.Artifact }), p(func(p Phases) time.Duration { return p.Lock }),
			p(func(p Phases) time.Duration { return p.Upload }), p(func(p Phases) time.Duration { return p.Prepare }),
			p(func(p Phases) time.Duration { return p.Activate }),
			p(func(p Phases) time.Duration { return p.Total - p.Artifact - p.Lock - p.Upload - p.Prepare - p.Activate }),
			p(func(p Phases) time.Duration { return p.Total })})
	}
	return "deploy of the demo Django app, opsui against Capistrano (medians of interleaved rounds; CPU is the client's)\n\n" +
		main.Markdown() + "\nopsui's phases (ops/deploy Timing, medians)\n\n" + phases.Markdown()
}
