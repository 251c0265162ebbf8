package simfleet

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/ed25519"
	"crypto/rand"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
)

func init() { ServeIfChild() }

// start runs a small fleet in this process for one test.
func start(t *testing.T, cfg Config) (*Fleet, *remote.Pool, []remote.Target) {
	t.Helper()
	cfg.Dir = t.TempDir()
	f, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	p := remote.NewPool(remote.Options{KnownHostsFiles: []string{f.KnownHostsPath}, DialTimeout: 2 * time.Second, KeepAlive: -1})
	t.Cleanup(func() { p.Close() })
	var ts []remote.Target
	for _, h := range f.Hosts {
		ts = append(ts, remote.Target{Name: h.Name, Addr: h.Address(), User: f.User, IdentityFiles: []string{f.ClientKeyPath}})
	}
	return f, p, ts
}

// TestHostKeysAndAuth: every host has its own key, listed in known_hosts
// under its own address; the client key logs in, any other key is refused,
// and a host presenting another host's key fails opsui's check.
func TestHostKeysAndAuth(t *testing.T) {
	f, p, ts := start(t, Config{N: 20})
	seen := map[string]string{}
	for _, h := range f.Hosts {
		k := string(h.key.Marshal())
		if other, dup := seen[k]; dup {
			t.Fatalf("%s and %s share a host key", h.Name, other)
		}
		seen[k] = h.Name
	}
	check, err := knownhosts.New(f.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	addr0 := &netAddr{f.Hosts[0].Address()}
	if err := check(f.Hosts[0].Address(), addr0, f.Hosts[0].key); err != nil {
		t.Errorf("host 0's own key: %v", err)
	}
	if err := check(f.Hosts[0].Address(), addr0, f.Hosts[1].key); err == nil {
		t.Error("known_hosts accepts host 1's key for host 0")
	}
	res, err := remote.Run(t.Context(), p, ts, "true", remote.RunOptions{}, nil)
	if err != nil || res.OK != len(ts) {
		t.Fatalf("true on every host: %v %s", err, res.Summary())
	}

	_, other, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(other)
	_, err = ssh.Dial("tcp", f.Hosts[0].Address(), &ssh.ClientConfig{User: f.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)}, HostKeyCallback: check, Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
		t.Errorf("a key the hosts do not know logged in: %v", err)
	}
}

type netAddr struct{ s string }

func (a *netAddr) Network() string { return "tcp" }
func (a *netAddr) String() string  { return a.s }

// TestCannedAnswers: opsui's own commands, as the engine wraps them, get
// each host's answer; anything else fails with 127 and says why.
func TestCannedAnswers(t *testing.T) {
	_, p, ts := start(t, Config{N: 10})
	got := map[string]string{}
	var mu sync.Mutex
	res, err := remote.Run(t.Context(), p, ts, "uname -n", remote.RunOptions{Env: map[string]string{"A": "it's"}}, func(ev remote.Event) {
		if ev.Kind == remote.EventStdout {
			mu.Lock()
			got[ev.Host] += ev.Line
			mu.Unlock()
		}
	})
	if err != nil || res.OK != len(ts) {
		t.Fatalf("uname -n: %v %s", err, res.Summary())
	}
	for _, tg := range ts {
		if got[tg.Name] != tg.Name {
			t.Errorf("%s answered %q", tg.Name, got[tg.Name])
		}
	}
	res, _ = remote.Run(t.Context(), p, ts[:1], "rm -rf /", remote.RunOptions{}, nil)
	if h := res.Hosts[0]; h.Code != 127 || !strings.Contains(h.Err.Error(), "127") {
		t.Errorf("an unknown command: %+v", h)
	}

	pr := remote.NewProber(p, remote.ProbeOptions{Timeout: 5 * time.Second})
	probes := pr.ProbeAll(t.Context(), []remote.ProbeRequest{{Target: ts[3], DeployTo: "/srv/shop",
		Check: remote.HTTPCheck("http://127.0.0.1/health")}})
	got3 := probes[0]
	if !got3.Reachable || got3.Release != Release || got3.Commit != Commit(ts[3].Name) || got3.Health != remote.HealthOK ||
		got3.Load1 != 0.15 || got3.DiskUsedPct != 43 || got3.MemUsedPct <= 0 {
		t.Errorf("probe of %s: %+v", ts[3].Name, got3)
	}
	if got3.ReleaseAge <= 0 {
		t.Errorf("release age %v", got3.ReleaseAge)
	}
}

// TestLocks: the lock table answers the show script through the engine as
// the deploy reads it, and take, renew and release in order.
func TestLocks(t *testing.T) {
	_, p, ts := start(t, Config{N: 3})
	states := deploy.InspectLocks(t.Context(), p, ts, func(string) string { return "/srv/shop" })
	for _, st := range states {
		if st.Held || st.Owner.Operator != "" {
			t.Errorf("%s: %+v", st.Host, st)
		}
	}
	var l lockTable
	take := `d=$DEPLOY_TO/.opsui-lock` + "\n" + `if mkdir -- "$d" 2>/dev/null; then`
	env := map[string]string{"DEPLOY_TO": "/srv/shop", "OPSUI_OWNER": "operator=alice\ntoken=T1\n", "OPSUI_TOKEN": "T1"}
	steps := []struct{ cmd, token, want string }{
		{take, "T1", "opsui-lock=taken"},
		{take, "T2", "opsui-lock=held\noperator=alice\ntoken=T1\nheartbeat="},
		{`d=$DEPLOY_TO/.opsui-lock ... echo "opsui-lock=renewed"`, "T1", "opsui-lock=renewed"},
		{`d=$DEPLOY_TO/.opsui-lock ... echo "opsui-lock=renewed"`, "T2", "opsui-lock=held"},
		{`d=$DEPLOY_TO/.opsui-lock ... $OPSUI_TOKEN ... echo released`, "T2", "not held by this deploy"},
		{`d=$DEPLOY_TO/.opsui-lock ... $OPSUI_TOKEN ... echo released`, "T1", "released"},
		{`d=$DEPLOY_TO/.opsui-lock ... echo "opsui-lock=free"`, "T1", "opsui-lock=free"},
	}
	for i, s := range steps {
		env["OPSUI_TOKEN"] = s.token
		if out, code := l.script(s.cmd, env); code != 0 || !strings.HasPrefix(out, s.want) {
			t.Errorf("step %d: %d %q, want %q...", i, code, out, s.want)
		}
	}
}

// TestFollow: a log follow through ops/logs gets the host's lines.
func TestFollow(t *testing.T) {
	_, p, ts := start(t, Config{N: 2, LogInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	lines := map[string]int{}
	go func() {
		_ = logs.Tail(ctx, p, []logs.Source{{Host: ts[0], Paths: []string{"/var/log/app.log"}}, {Host: ts[1], Paths: []string{"/var/log/app.log"}}},
			logs.Options{}, func(l logs.Line) {
				mu.Lock()
				defer mu.Unlock()
				if l.Kind == logs.KindLine && strings.Contains(l.Text, l.Host+" request") {
					lines[l.Host]++
				}
				if lines[ts[0].Name] >= 3 && lines[ts[1].Name] >= 3 {
					cancel()
				}
			})
	}()
	<-ctx.Done()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("lines after 30s: %v", lines)
	}
}

// TestFaults: a refusing host fails at once, a hung one (its connection
// warm) is given up on at the probe timeout while the others answer, and
// answers again once resumed.
func TestFaults(t *testing.T) {
	f, p, ts := start(t, Config{N: 6, Faults: map[int]Fault{5: Refuse}})
	res, _ := remote.Run(t.Context(), p, ts, "true", remote.RunOptions{}, nil)
	if res.OK != 5 || res.Hosts[5].Class != remote.ClassUnreachable {
		t.Fatalf("refuse: %s; host 5 %+v", res.Summary(), res.Hosts[5])
	}
	if err := f.SetFault(2, Hang); err != nil {
		t.Fatal(err)
	}
	pr := remote.NewProber(p, remote.ProbeOptions{Timeout: time.Second})
	var reqs []remote.ProbeRequest
	for _, tg := range ts[:5] {
		reqs = append(reqs, remote.ProbeRequest{Target: tg})
	}
	probes := pr.ProbeAll(t.Context(), reqs)
	for i, pb := range probes {
		if want := i != 2; pb.Reachable != want {
			t.Errorf("probe %d: reachable %v: %v", i, pb.Reachable, pb.Err)
		}
	}
	if probes[2].Class != remote.ClassTimeout {
		t.Errorf("hung host: %s %v", probes[2].Class, probes[2].Err)
	}
	if err := f.SetFault(2, Healthy); err != nil {
		t.Fatal(err)
	}
	if err := f.SetFault(5, Healthy); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, _ = remote.Run(t.Context(), p, []remote.Target{ts[2], ts[5]}, "true", remote.RunOptions{}, nil)
		if res.OK == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.OK != 2 {
		t.Errorf("resumed hosts: %s", res.Summary())
	}
	if _, err := ParseFault("sleepy"); err == nil {
		t.Error("ParseFault accepts sleepy")
	}
}

// TestSpawn: a fleet in a child process answers, obeys fault changes, and
// its CPU time can be read.
func TestSpawn(t *testing.T) {
	sp := Spawn(t, Config{N: 4})
	p := remote.NewPool(remote.Options{KnownHostsFiles: []string{sp.KnownHostsPath}, DialTimeout: 2 * time.Second, KeepAlive: -1})
	defer p.Close()
	var ts []remote.Target
	for _, h := range sp.Hosts {
		ts = append(ts, remote.Target{Name: h.Name, Addr: net.JoinHostPort(h.Addr, strconv.Itoa(h.Port)), User: sp.User, IdentityFiles: []string{sp.ClientKeyPath}})
	}
	if err := sp.SetFault(3, Refuse); err != nil {
		t.Fatal(err)
	}
	if err := sp.SetFault(9, Hang); err == nil || !strings.Contains(err.Error(), "no host 9") {
		t.Errorf("fault of host 9: %v", err)
	}
	res, _ := remote.Run(t.Context(), p, ts, "uname -n", remote.RunOptions{}, nil)
	if res.OK != 3 || res.Hosts[3].Class != remote.ClassUnreachable {
		t.Errorf("%s", res.Summary())
	}
	if cpu, err := sp.CPU(); err != nil || cpu < 0 {
		t.Errorf("child cpu %v %v", cpu, err)
	}
	if _, err := os.Stat(filepath.Clean(sp.ClientKeyPath)); err != nil {
		t.Error(err)
	}
}
