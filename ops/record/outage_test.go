package record

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/pgtest"
	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// pgProxy stands between the store and a real PostgreSQL server, so a
// test can take the server away as a network does: cut (connections
// reset, new ones refused), freeze (bytes stop flowing, nothing closes)
// and restore.
type pgProxy struct {
	t      *testing.T
	target string
	addr   string
	frozen atomic.Bool

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	p := &pgProxy{t: t, target: target, conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *pgProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = true, true
			p.mu.Unlock()
			go p.pipe(c, up)
			go p.pipe(up, c)
		}
	}()
}

// pipe copies from src to dst, holding each buffer while frozen.
func (p *pgProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		for n > 0 && p.frozen.Load() {
			time.Sleep(20 * time.Millisecond)
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			dst.Close()
			return
		}
	}
}

// cut closes the listener and every connection: the server is gone.
func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore listens again on the same address: the server is back.
func (p *pgProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// outageStore opens a store on a new database of the test PostgreSQL
// server, reached through a proxy.
func outageStore(t *testing.T) (*store.Store, *pgProxy) {
	t.Helper()
	srv := pgtest.Shared(t)
	u, err := url.Parse(srv.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, u.Host)
	u.Host = proxy.addr
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	st, err := store.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, proxy
}

// outageRun runs script on two real hosts, recorded into st with lim,
// calling during once the hosts have printed "line 10"; it returns the
// recorder, the run's result and Finish's error.
func outageRun(t *testing.T, st *store.Store, lim outageLimits, script string, during func()) (*Recorder, remote.Result, error) {
	t.Helper()
	e := remotetest.Start(t, 2)
	var names []string
	for _, tg := range e.Targets {
		names = append(names, tg.Name)
	}
	rec, err := startRecorder(t.Context(), st, store.NewRun{Kind: store.KindExec, Operator: "tester", Command: script, Hosts: names}, lim)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	started := make(chan struct{})
	res, err := remote.Run(t.Context(), e.Pool, e.Targets, script, remote.RunOptions{Timeout: time.Minute}, func(ev remote.Event) {
		rec.Event(ev)
		if ev.Kind == remote.EventStdout && ev.Line == "line 10" {
			once.Do(func() { close(started); go during() })
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	default:
		t.Fatal("the hosts never printed line 10")
	}
	return rec, res, rec.Finish(t.Context(), res)
}

// TestRecorderRidesOutADatabaseOutage: the team's PostgreSQL goes away
// for two seconds in the middle of a run (connections reset, new ones
// refused), then comes back. The hosts' work goes on, and once the server
// answers every line and every host's status is written: the record is
// whole, in order, and says nothing was lost.
func TestRecorderRidesOutADatabaseOutage(t *testing.T) {
	st, proxy := outageStore(t)
	script := `for i in $(seq 1 40); do echo "line $i"; sleep 0.1; done`
	start := time.Now()
	rec, res, err := outageRun(t, st, defaultOutageLimits, script, func() {
		proxy.cut()
		time.Sleep(2 * time.Second)
		proxy.restore()
	})
	if err != nil || res.Failed != 0 {
		t.Fatalf("finish after the outage: %v (result %+v)", err, res)
	}
	stats := rec.Stats()
	if stats.Outages == 0 || stats.Dropped != 0 || stats.Lost != 0 {
		t.Errorf("stats %+v: want an outage, nothing dropped or lost", stats)
	}
	t.Logf("run took %v with a 2 s outage; stats %+v", time.Since(start).Round(time.Millisecond), stats)
	checkWhole(t, st, rec.RunID(), 40)
}

// TestRecorderSaysWhatAnOutageCost: with a small buffer, output beyond it
// while the server is away is not kept; the record marks where, with how
// much, and Finish says so.
func TestRecorderSaysWhatAnOutageCost(t *testing.T) {
	st, proxy := outageStore(t)
	lim := defaultOutageLimits
	lim.buffer = 8 << 10
	script := `for i in $(seq 1 30); do echo "line $i"; [ $i = 12 ] && head -c 200000 /dev/zero | tr '\0' x && echo; sleep 0.1; done`
	rec, _, err := outageRun(t, st, lim, script, func() {
		proxy.cut()
		time.Sleep(1500 * time.Millisecond)
		proxy.restore()
	})
	if err == nil || !strings.Contains(err.Error(), "the database was unreachable during the run") || !strings.Contains(err.Error(), "of output not recorded") {
		t.Fatalf("Finish: %v, want it to say what was not recorded", err)
	}
	hosts, herr := st.RunHosts(context.Background(), rec.RunID())
	if herr != nil {
		t.Fatal(herr)
	}
	for _, h := range hosts {
		out := recorded(t, st, h)
		if !strings.Contains(string(out["meta"]), "of this host's output not recorded: the database was unreachable (from ") {
			t.Errorf("%s: no mark where the output is missing:\n%s", h.Host, out["meta"])
		}
		if !strings.Contains(string(out["stdout"]), "line 30\n") || h.Status != store.HostOK || h.RecordedBytes >= h.OutputBytes {
			t.Errorf("%s: status %s, %d of %d bytes recorded, stdout ends %q", h.Host, h.Status, h.RecordedBytes, h.OutputBytes, tail(out["stdout"]))
		}
	}
}

// TestRecorderGivesUpOnAServerThatStaysAway: a server that stops
// answering (frozen: no reset, no refusal) and never comes back costs the
// run a bounded wait at its end, not a hang, and Finish says what was not
// written.
func TestRecorderGivesUpOnAServerThatStaysAway(t *testing.T) {
	st, proxy := outageStore(t)
	lim := outageLimits{writeTimeout: 2 * time.Second, buffer: 64 << 20, finishGrace: 3 * time.Second}
	start := time.Now()
	_, res, err := outageRun(t, st, lim, `for i in $(seq 1 20); do echo "line $i"; sleep 0.1; done`, func() { proxy.frozen.Store(true) })
	took := time.Since(start)
	if res.Failed != 0 || res.OK != 2 {
		t.Errorf("the hosts' work did not go on: %+v", res)
	}
	if err == nil || !strings.Contains(err.Error(), "the database was still unreachable at the end") || !errors.Is(err, store.ErrUnreachable) && !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("Finish: %v", err)
	}
	if took > 40*time.Second {
		t.Errorf("the run took %v with the server away", took)
	}
	t.Logf("gave up after %v: %v", took.Round(time.Millisecond), err)
	proxy.frozen.Store(false)
}

// checkWhole checks that every host of the run has lines 1..n in order, is
// finished ok, and the run is finished.
func checkWhole(t *testing.T, st *store.Store, runID int64, n int) {
	t.Helper()
	var hosts []store.RunHost
	testenv.WaitFor(t, 10*time.Second, "the run's hosts readable", func() bool {
		var err error
		hosts, err = st.RunHosts(context.Background(), runID)
		return err == nil
	})
	var want strings.Builder
	for i := 1; i <= n; i++ {
		want.WriteString("line " + strconv.Itoa(i) + "\n")
	}
	for _, h := range hosts {
		out := recorded(t, st, h)
		if string(out["stdout"]) != want.String() || h.Status != store.HostOK {
			t.Errorf("%s: status %s, stdout %d bytes, want %d:\n%s", h.Host, h.Status, len(out["stdout"]), want.Len(), tail(out["stdout"]))
		}
	}
	run, err := st.Run(context.Background(), runID)
	if err != nil || run.Result != store.RunOK {
		t.Errorf("run %d: %+v %v", runID, run.Result, err)
	}
}

func tail(b []byte) string {
	if len(b) > 200 {
		b = b[len(b)-200:]
	}
	return string(b)
}
