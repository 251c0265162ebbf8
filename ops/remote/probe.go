package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Probe defaults.
const (
	DefaultProbeTimeout  = 5 * time.Second
	DefaultProbeParallel = 32
	// maxProbeOutput bounds what one probe reads: the script's output is a
	// few hundred bytes; a check that prints more is cut.
	maxProbeOutput = 64 << 10
	// probeSlotHold is how long a probe keeps its ProbeAll slot: a live
	// host answers within milliseconds on a warm connection, and a dial
	// within a few hundred; past this the probe is waiting, not working.
	probeSlotHold = 250 * time.Millisecond
)

// Unknown marks a probe figure (load, memory, disk) the host did not give.
const Unknown = -1.0

// HealthState is the verdict of a host's service check.
type HealthState string

// Health states.
const (
	HealthNone    HealthState = "none"    // the host's roles define no check
	HealthOK      HealthState = "ok"      // the check exited 0
	HealthFailed  HealthState = "failed"  // the check exited non-zero or timed out
	HealthUnknown HealthState = "unknown" // the check's tool is missing on the host
)

// Probe is what one light look at a host found.
type Probe struct {
	Host      string
	At        time.Time     // when the probe started
	Took      time.Duration // the whole probe, connecting included
	Reachable bool
	// RTT is the round trip of opening a session on the host's (pooled)
	// connection: one SSH channel open and its confirmation.
	RTT                  time.Duration
	Load1, Load5, Load15 float64 // Unknown when not read
	MemUsedPct           float64 // of MemTotal, MemAvailable counting as free; Unknown when not read
	DiskUsedPct          float64 // of the file system holding deploy_to (else /); Unknown when not read
	// Release is the id (directory name) that deploy_to/current points to,
	// Commit the content of its REVISION file; both empty without one.
	Release    string
	Commit     string
	ReleaseAge time.Duration // as of At, by the host's clock; 0 when unknown
	Health     HealthState
	// HealthDetail is the last lines the check printed (or why it could
	// not run); Check describes the check.
	HealthDetail string
	Check        string
	// Balancer is what the host, a load balancer, has out of rotation
	// (nil when the request asked nothing of it).
	Balancer *BalancerView
	// Class and Err say why an unreachable host could not be probed.
	Class ErrorClass
	Err   error
}

// ProbeRequest says what to probe on one host.
type ProbeRequest struct {
	Target   Target
	DeployTo string // the deploy tree holding current; "" reads no release and the disk of /
	Check    HealthCheck
	// Balancer, when set, reads what the host (a load balancer) has out
	// of rotation (BalancerProbeFor).
	Balancer *BalancerProbe
}

// ProbeOptions tune a Prober; the zero value is usable.
type ProbeOptions struct {
	// Timeout bounds each probe, connecting included (DefaultProbeTimeout
	// when <= 0). A host that does not answer in time is reported as
	// timeout; its probe is given up on at once.
	Timeout time.Duration
	// Parallel is how many hosts the Prober probes at once, over all
	// ProbeAll calls together (DefaultProbeParallel when <= 0).
	Parallel int
}

// Prober probes hosts over a Connector. A probe of a hung host is given up
// on at its timeout, but the SSH calls it made cannot be interrupted and
// wait until the connection dies (the pool's keepalive closes it); until
// then the Prober does not start another probe of that host, so a hung host
// holds at most one goroutine. It is safe for concurrent use.
type Prober struct {
	conn  Connector
	opts  ProbeOptions
	slots chan struct{} // one per probe under way in ProbeAll

	mu    sync.Mutex
	stuck map[string]time.Time // hosts whose last probe still waits, since when
	hung  map[string]bool      // hosts whose last probe timed out
}

// NewProber returns a prober that reaches hosts through conn.
func NewProber(conn Connector, opts ProbeOptions) *Prober {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultProbeTimeout
	}
	if opts.Parallel <= 0 {
		opts.Parallel = DefaultProbeParallel
	}
	return &Prober{conn: conn, opts: opts, slots: make(chan struct{}, opts.Parallel), stuck: map[string]time.Time{}, hung: map[string]bool{}}
}

// ProbeAll probes every host and returns the probes in the order of reqs.
// Calls may overlap (a caller may probe a fleet in chunks to get results
// sooner); together they start at most Parallel probes at once, and a probe
// still waiting for its host after 250 ms no longer counts, nor does one of
// a host whose last probe timed out. A call
// returns within about one probe timeout per Parallel hosts, whatever the
// hosts do; a cancelled ctx fails the hosts still waiting for a slot.
func (p *Prober) ProbeAll(ctx context.Context, reqs []ProbeRequest) []Probe {
	out := make([]Probe, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		if p.timedOut(r.Target.Name) {
			// Its last probe timed out: it likely hangs again, and a
			// probe that waits needs no slot.
			wg.Go(func() { out[i] = p.Probe(ctx, r) })
			continue
		}
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
			out[i] = Probe{Host: r.Target.Name, At: time.Now(), Health: HealthNone, Check: r.Check.Desc,
				Class: ClassCancelled, Err: Classify(r.Target.Name, ctx.Err())}
			continue
		}
		wg.Go(func() {
			// A probe that waits for its host gives its slot up: the
			// slots bound the probes at work, and a few hung hosts must
			// not hold them all for a whole timeout while the rest of the
			// fleet waits (measured: BenchmarkFleetScale, 5 % hung).
			var once sync.Once
			free := func() { once.Do(func() { <-p.slots }) }
			t := time.AfterFunc(probeSlotHold, free)
			defer func() { t.Stop(); free() }()
			out[i] = p.Probe(ctx, r)
		})
	}
	wg.Wait()
	return out
}

// Probe runs one probe of req's host: a single remote shell command whose
// output is parsed here. It never takes much longer than the timeout.
func (p *Prober) Probe(ctx context.Context, req ProbeRequest) Probe {
	name := req.Target.Name
	pr := Probe{Host: name, At: time.Now(), Health: HealthNone, Check: req.Check.Desc}
	fail := func(err error) Probe {
		he := Classify(name, err)
		pr.Took, pr.Class, pr.Err = time.Since(pr.At), he.Class, he
		return pr
	}
	if p.conn == nil {
		return fail(errors.New("probe without a Connector"))
	}
	if since, busy := p.claim(name); busy {
		return fail(&HostError{Host: name, Class: ClassTimeout,
			Err: fmt.Errorf("the probe started %s ago still waits for the host", time.Since(since).Round(time.Second))})
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
	defer cancel()
	type result struct {
		out []byte
		rtt time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer p.release(name)
		out, rtt, err := p.run(ctx, req)
		done <- result{out, rtt, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return fail(r.err)
		}
		p.setTimedOut(name, false)
		pr.Reachable, pr.RTT = true, r.rtt
		sections := parseProbeOutput(r.out, &pr)
		pr.Balancer = parseBalancer(sections, req.Balancer)
		pr.Took = time.Since(pr.At)
		return pr
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			p.setTimedOut(name, true)
			return fail(&HostError{Host: name, Class: ClassTimeout, Err: fmt.Errorf("no answer within %v", p.opts.Timeout)})
		}
		return fail(ctx.Err())
	}
}

// claim marks a probe of host under way; busy reports that one already is.
func (p *Prober) claim(host string) (since time.Time, busy bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if since, busy = p.stuck[host]; busy {
		return since, true
	}
	p.stuck[host] = time.Now()
	return time.Time{}, false
}

// timedOut reports whether host's last probe timed out.
func (p *Prober) timedOut(host string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hung[host]
}

func (p *Prober) setTimedOut(host string, hung bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if hung {
		p.hung[host] = true
	} else {
		delete(p.hung, host)
	}
}

func (p *Prober) release(host string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.stuck, host)
}

// probeSessions is what the Pool offers beyond a Connector: sessions on a
// pooled connection, redialed once when found dead.
type probeSessions interface {
	Session(ctx context.Context, t Target) (*ssh.Session, error)
}

// run connects, opens a session (timing it), and runs the probe script.
func (p *Prober) run(ctx context.Context, req ProbeRequest) ([]byte, time.Duration, error) {
	t := req.Target
	client, err := p.conn.Client(ctx, t) // dials when needed, so the session open below is one round trip
	if err != nil {
		return nil, 0, err
	}
	began := time.Now()
	var sess *ssh.Session
	if so, ok := p.conn.(probeSessions); ok {
		sess, err = so.Session(ctx, t)
	} else {
		sess, err = client.NewSession()
	}
	if err != nil {
		return nil, 0, fmt.Errorf("open probe session on %s: %w", t.Addr, err)
	}
	rtt := time.Since(began)
	defer sess.Close()
	stop := context.AfterFunc(ctx, func() { sess.Close() })
	defer stop()
	out := &limitedBuffer{max: maxProbeOutput}
	sess.Stdout = out
	err = sess.Run(probeScript(req))
	var exit *ssh.ExitError
	if err != nil && !errors.As(err, &exit) {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("probe command on %s: %w", t.Addr, err)
	}
	return out.Bytes(), rtt, nil
}

// limitedBuffer keeps the first max bytes written and drops the rest.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// probeMark starts each section of the probe script's output.
const probeMark = "@@opsui-probe "

// probeScript is the one command a probe runs: POSIX sh reading /proc, df,
// the current symlink and its REVISION, then the health check (bounded by
// timeout(1) where the host has it). Every value in it is quoted.
func probeScript(req ProbeRequest) string {
	var b bytes.Buffer
	section := func(name, cmd string) {
		fmt.Fprintf(&b, "echo %s; %s\n", Quote(probeMark+name), cmd)
	}
	disk := "/"
	if req.DeployTo != "" {
		disk = req.DeployTo
	}
	section("load", "cat /proc/loadavg 2>/dev/null")
	section("mem", "grep -E '^(MemTotal|MemAvailable):' /proc/meminfo 2>/dev/null")
	// df of a deploy_to not made yet: fall back to /.
	section("disk", fmt.Sprintf("{ df -P %s 2>/dev/null || df -P / 2>/dev/null; } | tail -n 1", Quote(disk)))
	section("now", "date +%s")
	if req.DeployTo != "" {
		current := req.DeployTo + "/current"
		section("release", "readlink "+Quote(current)+" 2>/dev/null")
		section("revision", "head -c 200 "+Quote(current+"/REVISION")+" 2>/dev/null; echo")
		section("mtime", "stat -L -c %Y "+Quote(current)+" 2>/dev/null")
	}
	if req.Balancer != nil {
		section(balancerSection(req.Balancer))
	}
	if req.Check.Command != "" {
		secs := int64(max(1, DefaultProbeTimeout/time.Second-1))
		section("health", fmt.Sprintf(`if command -v timeout >/dev/null 2>&1; then _t="timeout %d"; else _t=; fi; `+
			`_o=$($_t sh -c %s 2>&1 </dev/null); _rc=$?; printf '%%s\n' "$_o" | tail -n 3; echo %s"$_rc"`,
			secs, Quote(req.Check.Command), Quote(probeMark+"health-rc ")))
	}
	return b.String()
}

// parseProbeOutput fills pr from the probe script's output and returns its
// sections. Sections that are missing or garbled leave their figures
// Unknown (or empty). What the host wrote (the current target, REVISION,
// the check's output) is made Visible: anyone who can write a release can
// write escape sequences into it.
func parseProbeOutput(out []byte, pr *Probe) map[string][]string {
	pr.Load1, pr.Load5, pr.Load15, pr.MemUsedPct, pr.DiskUsedPct = Unknown, Unknown, Unknown, Unknown, Unknown
	sections := map[string][]string{}
	var cur string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimRight(line, "\r")
		if name, ok := strings.CutPrefix(line, probeMark); ok {
			if rc, ok := strings.CutPrefix(name, "health-rc "); ok {
				sections["health-rc"] = []string{rc}
				cur = ""
				continue
			}
			cur = name
			sections[cur] = []string{}
			continue
		}
		if cur != "" && line != "" {
			sections[cur] = append(sections[cur], line)
		}
	}
	first := func(name string) string {
		if l := sections[name]; len(l) > 0 {
			return strings.TrimSpace(l[0])
		}
		return ""
	}
	if f := strings.Fields(first("load")); len(f) >= 3 {
		pr.Load1, pr.Load5, pr.Load15 = parseFloat(f[0]), parseFloat(f[1]), parseFloat(f[2])
	}
	pr.MemUsedPct = parseMeminfo(sections["mem"])
	// df -P: Filesystem 1024-blocks Used Available Capacity Mounted-on.
	if f := strings.Fields(first("disk")); len(f) >= 5 {
		pr.DiskUsedPct = parseFloat(strings.TrimSuffix(f[4], "%"))
	}
	if target := first("release"); target != "" {
		pr.Release = Visible(path.Base(strings.TrimRight(target, "/")))
		pr.Commit = Visible(first("revision"))
		now, errNow := strconv.ParseInt(first("now"), 10, 64)
		if at, err := time.Parse("20060102150405", pr.Release); err == nil && errNow == nil {
			pr.ReleaseAge = time.Duration(now-at.Unix()) * time.Second
		} else if mtime, err := strconv.ParseInt(first("mtime"), 10, 64); err == nil && errNow == nil {
			pr.ReleaseAge = time.Duration(now-mtime) * time.Second
		}
		pr.ReleaseAge = max(0, pr.ReleaseAge)
	}
	if _, ok := sections["health"]; ok {
		pr.HealthDetail = Visible(strings.Join(sections["health"], " | "))
		rc, err := strconv.Atoi(first("health-rc"))
		switch {
		case err != nil:
			pr.Health, pr.HealthDetail = HealthFailed, "the check did not finish"
		case rc == 0:
			pr.Health = HealthOK
		case rc == 127:
			pr.Health = HealthUnknown // command not found
		case rc == 124:
			pr.Health, pr.HealthDetail = HealthFailed, strings.TrimSpace("timed out "+pr.HealthDetail)
		default:
			pr.Health = HealthFailed
		}
	}
	return sections
}

func parseFloat(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 {
		return Unknown
	}
	return v
}

// parseMeminfo returns the used share of memory from MemTotal and
// MemAvailable lines (kB), or Unknown.
func parseMeminfo(lines []string) float64 {
	var total, avail float64 = Unknown, Unknown
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = parseFloat(f[1])
		case "MemAvailable:":
			avail = parseFloat(f[1])
		}
	}
	if total <= 0 || avail < 0 || avail > total {
		return Unknown
	}
	return (total - avail) / total * 100
}

// maxVisible bounds a probe value shown to people.
const maxVisible = 4 << 10

// Visible returns s as the console may show it: control characters and
// invalid UTF-8 neutralised as LineSplitter does for output lines (a
// REVISION or health output written by anyone on the host must not drive
// the operator's terminal), cut at 4 KiB.
func Visible(s string) string {
	if len(s) <= maxVisible && printable([]byte(s)) {
		return s
	}
	b, _ := appendVisible(nil, []byte(s), maxVisible)
	return string(b)
}
