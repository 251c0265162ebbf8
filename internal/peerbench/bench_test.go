package peerbench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
)

// The knobs of BenchmarkPeers, all optional. The defaults make the table of
// docs/BENCHMARKS.md in about five minutes.
const (
	// EnvSwitch set to 0 skips BenchmarkPeers (`make bench` runs every
	// benchmark of the module).
	EnvSwitch = "OPSUI_PEERBENCH"
	// EnvSizes lists the fleet sizes of the `uname -n` table: "10,50,200".
	EnvSizes = "OPSUI_PEERBENCH_SIZES"
	// EnvReps sets the repetitions of every measurement (default 5, and 3
	// for 200 hosts and for uploads).
	EnvReps = "OPSUI_PEERBENCH_REPS"
	// EnvPeers keeps only the peers whose id contains one of these
	// comma-separated words ("pssh,xssh"); opsui's rows always stay.
	EnvPeers = "OPSUI_PEERBENCH_PEERS"
	// EnvUpload sets the number of hosts of the upload table (default 50;
	// 0 skips it).
	EnvUpload = "OPSUI_PEERBENCH_UPLOAD_HOSTS"
	// EnvOut names a file that receives the tables too.
	EnvOut = "OPSUI_PEERBENCH_OUT"
)

// uploadSize is the size of the random artifact of the upload table, and
// uploadName where every host stores it: in the login user's home, which
// sshtest gives each host on its own (/tmp is shared by all the hosts).
const (
	uploadSize = 20 << 20
	uploadName = "peerbench-upload.bin"
)

// roundTimeout bounds one round of one peer: a hung host fails the round
// instead of the whole benchmark (200 hosts with the OpenSSH loop take
// ~10 s on an idle 2-core machine).
const roundTimeout = 90 * time.Second

// env is what every peer is given: the fleet and the files to reach it.
type env struct {
	fleet      *sshtest.Fleet
	dir        string            // scratch directory
	config     *ssh.ClientConfig // x/crypto/ssh client config for the fleet
	upload     string            // the artifact of the upload table
	uploadSum  string            // its sha256, in hex
	loopScript string            // testdata/ssh_loop.sh, absolute
	fabricPy   string            // testdata/fabric_group.py, absolute
}

// round runs one measured operation on every host of a session and returns
// the wall time it measured and each host's answer (its trimmed stdout).
type round func(ctx context.Context) (time.Duration, map[string]string, error)

// peer is one way of running a command (or uploading a file) on many hosts.
type peer struct {
	id    string // short and unique: metric names, EnvPeers
	label string // row label of the table
	// missing, when set, says why the peer cannot run here (its tool is not
	// installed), or "".
	missing func() string
	// open prepares the peer for hosts (warm peers open their connections
	// here, untimed) and returns its round and how to release what open
	// took; close reports a problem that invalidates the rounds (a
	// ControlMaster that died, so rounds silently fell back to new
	// connections).
	open func(ctx context.Context, e *env, hosts []*sshtest.Host) (r round, close func() error, err error)
}

// task is one table: an operation, the fleet sizes, the peers.
type task struct {
	id      string // metric prefix
	title   string
	sizes   []int
	reps    func(n int) int
	peers   []peer
	targets func(res results, sizes []int) [][]string // rows of the targets, or nil
	// reset runs before every round, untimed; nil for nothing.
	reset func(hosts []*sshtest.Host) error
	// check verifies a round: every host must have done the work.
	check func(e *env, hosts []*sshtest.Host, answers map[string]string) error
}

// cell is what one peer measured at one size.
type cell struct {
	samples []time.Duration
	note    string // skipped: why
	err     error
}

// results holds every cell of a task by peer id and size.
type results map[string]map[int]*cell

func (r results) at(id string, n int) *cell {
	if r[id] == nil {
		r[id] = make(map[int]*cell)
	}
	if r[id][n] == nil {
		r[id][n] = &cell{}
	}
	return r[id][n]
}

// median returns the median of a peer's cell and whether it has one.
func (r results) median(id string, n int) (time.Duration, bool) {
	c := r[id][n]
	if c == nil || c.err != nil || len(c.samples) == 0 {
		return 0, false
	}
	return Median(c.samples), true
}

// BenchmarkPeers measures opsui's fan-out side by side with parallel-ssh,
// Fabric, OpenSSH loops and a bare x/crypto/ssh loop, on one fleet of real
// sshd hosts, and prints the medians as markdown tables. The whole table is
// one iteration: it takes minutes, so the benchmark framework runs it once.
func BenchmarkPeers(b *testing.B) {
	if os.Getenv(EnvSwitch) == "0" {
		b.Skipf("%s=0", EnvSwitch)
	}
	if testing.Short() {
		b.Skip("the peer comparison takes minutes; not with -short")
	}
	sizes := envInts(b, EnvSizes, []int{10, 50, 200})
	uploadHosts := envInts(b, EnvUpload, []int{50})[0]
	reps := func(def int) func(int) int {
		return func(n int) int {
			if os.Getenv(EnvReps) != "" {
				return testenv.EnvInt(b, EnvReps, def)
			}
			if n > 100 {
				return min(def, 3)
			}
			return def
		}
	}

	// Before the fleet starts: the load of everything else on the machine
	// (and of compiling this test).
	loadBefore := LoadAverage()
	fleetSize := max(slices.Max(sizes), uploadHosts)
	f := sshtest.Start(b, fleetSize)
	if !f.Isolated {
		b.Skip("peerbench needs isolated hosts (run as root): each host must answer `uname -n` with its own name and have its own home")
	}
	e := newEnv(b, f)

	tasks := []task{{
		id:      "uname",
		title:   "`uname -n` on N hosts",
		sizes:   sizes,
		reps:    reps(5),
		peers:   filterPeers(b, unamePeers()),
		targets: unameTargets,
		check: func(_ *env, hosts []*sshtest.Host, answers map[string]string) error {
			want := make(map[string]string, len(hosts))
			for _, h := range hosts {
				want[h.Name] = h.Name
			}
			return CheckAnswers(want, answers)
		},
	}}
	if uploadHosts > 0 {
		tasks = append(tasks, task{
			id:      "upload",
			title:   fmt.Sprintf("upload of a %d MB file to N hosts (`cat > %s`)", uploadSize>>20, uploadName),
			sizes:   []int{uploadHosts},
			reps:    reps(3),
			peers:   filterPeers(b, uploadPeers()),
			targets: uploadTargets,
			reset:   removeUploads,
			check:   checkUploads,
		})
	}

	start := time.Now()
	var out strings.Builder
	fmt.Fprintf(&out, "\n# opsui peer benchmark\n\n%s, %d cores, %d sshd hosts on loopback (sshtest).\n%s\nLoad average before: %s (1, 5, 15 min).\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), numCPU(), fleetSize, toolVersions(), loadBefore)
	if l, err := strconv.ParseFloat(strings.Fields(loadBefore + " x")[0], 64); err == nil && l > 0.75*float64(numCPU()) {
		fmt.Fprintf(&out, "**Noisy:** the machine was busy before the run (1-minute load %.2f on %d cores); take figures on an idle machine.\n", l, numCPU())
	}
	var failed []string
	for _, t := range tasks {
		res := runTask(b, e, t)
		out.WriteString(render(t, res))
		for _, p := range t.peers {
			for _, n := range t.sizes {
				c := res[p.id][n]
				if c == nil {
					continue
				}
				if c.err != nil {
					failed = append(failed, fmt.Sprintf("%s %s N=%d: %v", t.id, p.id, n, c.err))
				}
				if med, ok := res.median(p.id, n); ok {
					b.ReportMetric(med.Seconds(), fmt.Sprintf("s:%s-N%d-%s", t.id, n, p.id))
				}
			}
		}
	}
	fmt.Fprintf(&out, "\nLoad average after: %s (it counts the benchmark's own ssh and sshd processes: read the load before); the whole comparison took %s.\n",
		LoadAverage(), time.Since(start).Round(time.Second))
	fmt.Print(out.String())
	if path := os.Getenv(EnvOut); path != "" {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			b.Errorf("%s: %v", EnvOut, err)
		}
	}
	for _, msg := range failed {
		b.Error(msg)
	}
}

// runTask measures every peer of t at every size. Within one size the
// peers' rounds are interleaved (round 1 of every peer, then round 2, ...)
// so that a change of the machine's load spreads over all of them.
func runTask(b *testing.B, e *env, t task) results {
	res := make(results)
	for _, n := range t.sizes {
		hosts := e.fleet.Hosts[:n]
		type live struct {
			p     peer
			r     round
			close func() error
		}
		var open []*live
		for _, p := range t.peers {
			c := res.at(p.id, n)
			if p.missing != nil {
				if why := p.missing(); why != "" {
					c.note = "skipped: " + why
					b.Logf("%s: %s: skipped: %s", t.id, p.label, why)
					continue
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
			r, closeFn, err := p.open(ctx, e, hosts)
			cancel()
			if err != nil {
				c.err = fmt.Errorf("open: %w", err)
				continue
			}
			open = append(open, &live{p, r, closeFn})
		}
		reps := t.reps(n)
		for i := range reps {
			for _, l := range open {
				c := res.at(l.p.id, n)
				if c.err != nil {
					continue
				}
				if t.reset != nil {
					if err := t.reset(hosts); err != nil {
						c.err = fmt.Errorf("reset before run %d: %w", i+1, err)
						continue
					}
				}
				ctx, cancel := context.WithTimeout(context.Background(), roundTimeout)
				d, answers, err := l.r(ctx)
				cancel()
				if err == nil {
					err = t.check(e, hosts, answers)
				}
				if err != nil {
					c.err = fmt.Errorf("run %d of %d: %w", i+1, reps, err)
					continue
				}
				c.samples = append(c.samples, d)
			}
		}
		for _, l := range open {
			if err := l.close(); err != nil {
				c := res.at(l.p.id, n)
				c.err = errors.Join(c.err, fmt.Errorf("close: %w", err))
			}
		}
		for _, l := range open {
			c := res.at(l.p.id, n)
			b.Logf("%s N=%d %-28s %s", t.id, n, l.p.id, describe(c))
		}
	}
	return res
}

// describe writes a cell's samples for the log.
func describe(c *cell) string {
	s := make([]string, len(c.samples))
	for i, d := range c.samples {
		s[i] = FormatSeconds(d)
	}
	if c.err != nil {
		return fmt.Sprintf("FAILED: %v (rounds that passed before: [%s])", c.err, strings.Join(s, ", "))
	}
	return fmt.Sprintf("median %s of [%s]", FormatSeconds(Median(c.samples)), strings.Join(s, ", "))
}

// render writes a task's table: medians, then the spread, then the
// issue's targets.
func render(t task, res results) string {
	head := []string{"peer"}
	for _, n := range t.sizes {
		head = append(head, fmt.Sprintf("N=%d", n))
	}
	medians := Table{Header: head}
	spread := Table{Header: head}
	for _, p := range t.peers {
		row := []string{p.label}
		srow := []string{p.label}
		for _, n := range t.sizes {
			c := res[p.id][n]
			switch {
			case c == nil:
				row, srow = append(row, ""), append(srow, "")
			case c.err != nil:
				row, srow = append(row, "FAILED"), append(srow, "FAILED")
			case c.note != "":
				row, srow = append(row, c.note), append(srow, "")
			default:
				row = append(row, FormatSeconds(Median(c.samples)))
				srow = append(srow, fmt.Sprintf("%s–%s (%d)",
					strings.TrimSuffix(FormatSeconds(slices.Min(c.samples)), " s"),
					FormatSeconds(slices.Max(c.samples)), len(c.samples)))
			}
		}
		medians.Rows = append(medians.Rows, row)
		spread.Rows = append(spread.Rows, srow)
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n## %s: median wall time\n\n%s", t.title, medians.Markdown())
	fmt.Fprintf(&sb, "\nmin–max (runs):\n\n%s", spread.Markdown())
	if t.targets != nil {
		if rows := t.targets(res, t.sizes); len(rows) > 0 {
			tt := Table{Header: append([]string{"issue 3 target"}, head[1:]...), Rows: rows}
			fmt.Fprintf(&sb, "\n%s", tt.Markdown())
		}
	}
	for _, p := range t.peers {
		for _, n := range t.sizes {
			if c := res[p.id][n]; c != nil && c.err != nil {
				fmt.Fprintf(&sb, "\nFAILED %s N=%d: %v\n", p.label, n, c.err)
			}
		}
	}
	return sb.String()
}

// ratio writes the ratio of the medians of peers a and b against a target,
// "0.71 ok" or "1.30 MISSED", or "n/a" when either has no figure.
func ratio(res results, a, b string, n int, target float64, atMost bool) string {
	ma, okA := res.median(a, n)
	mb, okB := res.median(b, n)
	if !okA || !okB || mb == 0 {
		return "n/a"
	}
	r := ma.Seconds() / mb.Seconds()
	verdict := "ok"
	if (atMost && r > target) || (!atMost && r < target) {
		verdict = "MISSED"
	}
	return fmt.Sprintf("%.2f %s", r, verdict)
}

func newEnv(b *testing.B, f *sshtest.Fleet) *env {
	e := &env{fleet: f, dir: b.TempDir(), config: f.ClientConfig(b)}
	e.config.Timeout = 30 * time.Second
	for _, p := range []struct {
		dst  *string
		name string
	}{{&e.loopScript, "ssh_loop.sh"}, {&e.fabricPy, "fabric_group.py"}} {
		abs, err := filepath.Abs(filepath.Join("testdata", p.name))
		if err != nil {
			b.Fatal(err)
		}
		*p.dst = abs
	}
	// The artifact: random, so that no compression helps anyone.
	e.upload = filepath.Join(e.dir, "artifact.bin")
	file, err := os.Create(e.upload)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(file, h), rand.Reader, uploadSize); err != nil {
		b.Fatal(err)
	}
	if err := file.Close(); err != nil {
		b.Fatal(err)
	}
	e.uploadSum = hex.EncodeToString(h.Sum(nil))
	return e
}

// removeUploads deletes the artifact from every host's home, so that a
// round that uploads nothing cannot pass its check.
func removeUploads(hosts []*sshtest.Host) error {
	for _, h := range hosts {
		if err := os.Remove(filepath.Join(h.Home, uploadName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// checkUploads verifies that every host holds the whole artifact: it hashes
// the file each host wrote in its home (Host.Home is that directory as the
// benchmark sees it).
func checkUploads(e *env, hosts []*sshtest.Host, _ map[string]string) error {
	got := make(map[string]string, len(hosts))
	want := make(map[string]string, len(hosts))
	sums := make([]string, len(hosts))
	sem := make(chan struct{}, numCPU())
	var wg sync.WaitGroup
	for i, h := range hosts {
		want[h.Name] = e.uploadSum
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			file, err := os.Open(filepath.Join(h.Home, uploadName))
			if err != nil {
				sums[i] = "missing: " + err.Error()
				return
			}
			defer file.Close()
			sum := sha256.New()
			if _, err := io.Copy(sum, file); err != nil {
				sums[i] = "unreadable: " + err.Error()
				return
			}
			sums[i] = hex.EncodeToString(sum.Sum(nil))
		})
	}
	wg.Wait()
	for i, h := range hosts {
		got[h.Name] = sums[i]
	}
	return CheckAnswers(want, got)
}

// filterPeers applies EnvPeers; opsui's own rows always stay.
func filterPeers(b *testing.B, peers []peer) []peer {
	s := os.Getenv(EnvPeers)
	if s == "" {
		return peers
	}
	words := strings.Split(s, ",")
	return slices.DeleteFunc(peers, func(p peer) bool {
		if strings.HasPrefix(p.id, "opsui") {
			return false
		}
		for _, w := range words {
			if w = strings.TrimSpace(w); w != "" && strings.Contains(p.id, w) {
				return false
			}
		}
		return true
	})
}

func envInts(b *testing.B, name string, def []int) []int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || (n == 0 && name == EnvSizes) {
			b.Fatalf("%s=%q: want comma-separated numbers", name, s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		b.Fatalf("%s=%q: want comma-separated numbers", name, s)
	}
	return out
}
