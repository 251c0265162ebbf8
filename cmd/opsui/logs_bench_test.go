package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/testenv"
)

// lineCounter counts the writers' lines a follower printed, and the hosts
// that showed a "ready" line.
type lineCounter struct {
	lines atomic.Int64 // whole lines of the writers, with or without their host
	owned atomic.Int64 // of those, the lines that carried their host
	hosts map[string]bool
	last  atomic.Int64 // unix nanoseconds of the last counted line
	mu    sync.Mutex
	ready map[string]bool
}

// scan reads a follower's output: host is the text before sep.
func (c *lineCounter) scan(r io.Reader, sep string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		host, text, ok := strings.Cut(line, sep)
		host = strings.TrimSpace(host)
		if !ok || !c.hosts[host] {
			// parallel-ssh -P prefixes each chunk it reads, not each
			// line: the other lines of a chunk come without their host,
			// and a line cut by a chunk's end comes in two pieces.
			host, text, ok = "", line, false
		}
		text = strings.TrimSpace(text)
		switch {
		case strings.HasPrefix(text, "2026-") && strings.HasSuffix(text, " ms"):
			c.lines.Add(1)
			if ok {
				c.owned.Add(1)
			}
			c.last.Store(time.Now().UnixNano())
		case strings.HasPrefix(text, "ready "):
			c.mu.Lock()
			c.ready[host] = true
			c.mu.Unlock()
		}
	}
}

func (c *lineCounter) readyHosts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ready)
}

// benchAppend appends rate lines a second to path until ctx ends and
// returns how many it wrote.
func benchAppend(ctx context.Context, path, host string, rate int) (int, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	start := time.Now()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	written := 0
	var buf []byte
	for {
		select {
		case <-ctx.Done():
			return written, nil
		case <-t.C:
		}
		buf = buf[:0]
		for due := int(time.Since(start).Seconds() * float64(rate)); written < due; written++ {
			buf = fmt.Appendf(buf, "2026-11-23 10:00:00,000 INFO [shop.views] %s request %d served in 12 ms\n", host, written)
		}
		if _, err := f.Write(buf); err != nil {
			return written, err
		}
	}
}

// BenchmarkLogsVsParallelSSH follows the same growing files on 50 real
// sshd hosts (1 000 lines a second each, OPSUI_LOGS_BENCH_HOSTS and
// OPSUI_LOGS_BENCH_RATE) with the headless `opsui logs` (in-process, its
// output parsed) and with `parallel-ssh -P ... tail -F` at the same time,
// for OPSUI_LOGS_BENCH_DURATION (default 10s), then waits up to 30 s for
// each to print every line. It reports the lines each printed, how long
// after the writers stopped each had printed its last, and its rate.
func BenchmarkLogsVsParallelSSH(b *testing.B) {
	if _, err := exec.LookPath("parallel-ssh"); err != nil {
		b.Skip("parallel-ssh is not installed (Debian's pssh; make bench installs it)")
	}
	hosts := testenv.EnvInt(b, "OPSUI_LOGS_BENCH_HOSTS", 50)
	rate := testenv.EnvInt(b, "OPSUI_LOGS_BENCH_RATE", 1000)
	dur := testenv.EnvDuration(b, "OPSUI_LOGS_BENCH_DURATION", 10*time.Second)
	fleet := sshtest.Start(b, hosts, sshtest.WithMaxSessions(20))
	if !fleet.Isolated {
		b.Skip("needs isolated hosts (root)")
	}
	db := benchLogsInventory(b, fleet)
	hostsFile := filepath.Join(b.TempDir(), "hosts")
	var names []string
	for _, h := range fleet.Hosts {
		names = append(names, h.Name)
		if err := os.WriteFile(filepath.Join(h.Home, "app.log"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	if err := os.WriteFile(hostsFile, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		ctx, cancel := context.WithCancel(context.Background())
		known := map[string]bool{}
		for _, n := range names {
			known[n] = true
		}
		opsui := &lineCounter{ready: map[string]bool{}, hosts: known}
		pssh := &lineCounter{ready: map[string]bool{}, hosts: known}

		// opsui logs, in-process, its output parsed as a pipe would be.
		pr, pw := io.Pipe()
		go opsui.scan(pr, "|")
		c := &cli{stdout: pw, stderr: io.Discard, stdin: strings.NewReader("")}
		root := newRootCmd(c)
		root.SetArgs([]string{"--db", db, "logs", "--role", "web", "--since-lines", "0"})
		opsuiDone := make(chan error, 1)
		go func() { opsuiDone <- root.ExecuteContext(ctx); pw.Close() }()

		// parallel-ssh -P prints "host: line" as lines arrive.
		cmd := exec.CommandContext(ctx, "parallel-ssh", "-h", hostsFile, "-p", strconv.Itoa(hosts), "-t", "0", "-P",
			"-x", "-F "+fleet.SSHConfigPath, "tail -F -n 0 app.log")
		out, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		psshDone := make(chan struct{})
		go func() { pssh.scan(out, ": "); close(psshDone) }()

		deadline := time.Now().Add(60 * time.Second)
		for opsui.readyHosts() < hosts || pssh.readyHosts() < hosts {
			if time.Now().After(deadline) {
				b.Fatalf("not every host followed: opsui %d, parallel-ssh %d of %d", opsui.readyHosts(), pssh.readyHosts(), hosts)
			}
			for _, h := range fleet.Hosts {
				appendTo(b, h, "app.log", "ready "+h.Name)
			}
			time.Sleep(500 * time.Millisecond)
		}

		wctx, stopWriters := context.WithTimeout(context.Background(), dur)
		var wg sync.WaitGroup
		var written atomic.Int64
		start := time.Now()
		for _, h := range fleet.Hosts {
			wg.Go(func() {
				n, err := benchAppend(wctx, filepath.Join(h.Home, "app.log"), h.Name, rate)
				if err != nil {
					b.Error(err)
				}
				written.Add(int64(n))
			})
		}
		wg.Wait()
		stopWriters()
		stopped := time.Now()
		for time.Since(stopped) < 30*time.Second && (opsui.lines.Load() < written.Load() || pssh.lines.Load() < written.Load()) {
			time.Sleep(50 * time.Millisecond)
		}
		cancel()
		if err := <-opsuiDone; err != nil {
			b.Errorf("opsui logs: %v", err)
		}
		_ = cmd.Wait()
		<-psshDone
		w := written.Load()
		lag := func(c *lineCounter) time.Duration { return max(0, time.Unix(0, c.last.Load()).Sub(stopped)) }
		rateOf := func(c *lineCounter) float64 {
			return float64(c.lines.Load()) / time.Unix(0, c.last.Load()).Sub(start).Seconds()
		}
		b.ReportMetric(float64(w), "lines-written")
		b.ReportMetric(float64(opsui.lines.Load()), "opsui-lines")
		b.ReportMetric(float64(pssh.lines.Load()), "pssh-lines")
		b.ReportMetric(float64(pssh.owned.Load()), "pssh-lines-with-host")
		b.ReportMetric(rateOf(opsui), "opsui-lines/s")
		b.ReportMetric(rateOf(pssh), "pssh-lines/s")
		b.ReportMetric(lag(opsui).Seconds(), "opsui-lag-s")
		b.ReportMetric(lag(pssh).Seconds(), "pssh-lag-s")
		b.Logf("%d hosts x %d lines/s for %s, both at once: %d written; opsui logs printed %d (%.0f/s, last %.2fs after the writers stopped); parallel-ssh -P printed %d whole (%d with their host; %.0f/s, last %.2fs after)",
			hosts, rate, dur, w, opsui.lines.Load(), rateOf(opsui), lag(opsui).Seconds(), pssh.lines.Load(), pssh.owned.Load(), rateOf(pssh), lag(pssh).Seconds())
		if opsui.lines.Load() != w || opsui.owned.Load() != w {
			b.Errorf("opsui logs printed %d of %d lines", opsui.lines.Load(), w)
		}
	}
}

// benchLogsInventory imports fleet with the web role logging ~/app.log,
// sets HOME up as execFleet does, and returns the database path.
func benchLogsInventory(b *testing.B, fleet *sshtest.Fleet) string {
	home := b.TempDir()
	b.Setenv("HOME", home)
	b.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	b.Setenv("SSH_AUTH_SOCK", "")
	b.Setenv("OPSUI_DB", "")
	kh, err := os.ReadFile(fleet.KnownHostsPath)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), kh, 0o600); err != nil {
		b.Fatal(err)
	}
	u, err := user.Current()
	if err != nil {
		b.Fatal(err)
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\nroles:\n  web:\n    logs: [%s]\nhosts:\n", filepath.Join(u.HomeDir, "app.log"))
	for _, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
	}
	file := filepath.Join(b.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	db := filepath.Join(b.TempDir(), "opsui.db")
	c := &cli{stdout: io.Discard, stderr: io.Discard, stdin: strings.NewReader("")}
	root := newRootCmd(c)
	root.SetArgs([]string{"--db", db, "inventory", "import", file})
	if err := root.ExecuteContext(context.Background()); err != nil {
		b.Fatalf("import: %v", err)
	}
	return db
}
