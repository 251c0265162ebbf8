package main

import (
	"bufio"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/demofleet"
	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
)

func requireDemoServices(t *testing.T) {
	t.Helper()
	webtest.RequireNginx(t)
	webtest.RequireDjango(t)
	webtest.RequireGunicorn(t)
	testenv.RequireProgram(t, "memcached", "memcached")
}

// isolatedEnv is an environment whose HOME and XDG_DATA_HOME are empty
// directories: the demo must leave them empty.
func isolatedEnv(t *testing.T) (env []string, home, data string) {
	home, data = t.TempDir(), t.TempDir()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "HOME" && k != "XDG_DATA_HOME" && k != "OPSUI_DB" {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "XDG_DATA_HOME="+data), home, data
}

func runOK(t *testing.T, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s %s: still running after %v:\n%s", filepath.Base(name), strings.Join(args, " "), timeout, out)
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDemoKeepDeployRollbackFlushStop starts `opsui demo --keep`, deploys,
// rolls back and flushes with the CLI on it, stops it, and checks that no
// process and no listening port of it is left, and that the user's own
// HOME and data directory were not touched.
func TestDemoKeepDeployRollbackFlushStop(t *testing.T) {
	requireDemoServices(t)
	bin := tuitest.Build(t)
	env, home, data := isolatedEnv(t)
	dir := filepath.Join(t.TempDir(), "demo")
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			exec.Command(bin, "demo", "--stop", "--dir", dir).Run()
		}
	})
	out := runOK(t, env, 5*time.Minute, bin, "demo", "--keep", "--dir", dir)
	wrapper := filepath.Join(dir, "opsui")
	if !strings.Contains(out, wrapper) || !strings.Contains(out, "opsui demo --stop --dir "+dir) {
		t.Errorf("demo --keep does not say how to use and stop it:\n%s", out)
	}
	addrs := demoAddresses(t, dir)

	out = runOK(t, env, 5*time.Minute, wrapper, "releases")
	if strings.Count(out, "success") != 2 || !strings.Contains(out, "initial") {
		t.Errorf("the initial deploy is not recorded for both environments:\n%s", out)
	}
	out = runOK(t, env, 5*time.Minute, wrapper, "deploy", "shop", "--env", "staging", "--ref", "main~2")
	if !strings.Contains(out, "success") {
		t.Errorf("deploy:\n%s", out)
	}
	out = runOK(t, env, 5*time.Minute, wrapper, "rollback", "shop", "--env", "staging", "--yes")
	if !strings.Contains(out, "success") {
		t.Errorf("rollback:\n%s", out)
	}
	time.Sleep(3 * time.Second) // the traffic generator writes cache keys every ~2s
	out = runOK(t, env, 2*time.Minute, wrapper, "flush", "--env", "staging", "--yes")
	if !strings.Contains(out, "→ 0") || !strings.Contains(out, "1 ok") {
		t.Errorf("flush:\n%s", out)
	}
	lb, _ := hostAddr(t, dir, "stg-lb1")
	if body := httpGet(t, "http://"+lb+":8080/"); !strings.Contains(body, "Welcome to the shop!") {
		t.Errorf("the staging balancer serves %q", body)
	}

	// The pid file names the server, and --stop recognises it by its
	// command line.
	if pid, ok := runningDemo(dir); !ok {
		t.Errorf("the running demo server is not recognised (pid %d)", pid)
	}
	runOK(t, env, 3*time.Minute, bin, "demo", "--stop", "--dir", dir)
	stopped = true
	checkNothingLeft(t, dir, addrs)
	for _, d := range []string{home, data} {
		if entries, _ := os.ReadDir(d); len(entries) != 0 {
			t.Errorf("the demo wrote into the user's %s: %v", d, entries)
		}
	}
}

// TestDemoConsoleQuitTearsDown runs `opsui demo` in a terminal: the
// console opens on the ten hosts with their release, and quitting it
// stops the whole fleet.
func TestDemoConsoleQuitTearsDown(t *testing.T) {
	requireDemoServices(t)
	bin := tuitest.Build(t)
	dir := filepath.Join(t.TempDir(), "demo")
	t.Cleanup(func() { exec.Command(bin, "demo", "--stop", "--dir", dir).Run() })
	term := tuitest.Start(t, 120, 32, []string{"NO_COLOR=1"}, bin, "demo", "--dir", dir)
	screen := term.WaitFor("the console on the demo fleet", 5*time.Minute, func(s string) bool {
		return strings.Contains(s, "10 hosts") && strings.Count(s, " ok") >= 10
	})
	t.Logf("the demo console:\n%s", screen)
	addrs := demoAddresses(t, dir)
	term.Keys("q")
	if code := term.WaitExit(3 * time.Minute); code != 0 {
		t.Errorf("opsui demo exited %d:\n%s", code, term.Screen())
	}
	checkNothingLeft(t, dir, addrs)
}

// demoAddresses reads the demo hosts' addresses from its fleet file.
func demoAddresses(t *testing.T, dir string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, demofleet.FleetFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := inventory.DecodeYAML("fleet.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]bool{}
	for _, h := range f.Hosts {
		addrs[h.Address] = true
	}
	if len(f.Hosts) != 10 {
		t.Errorf("%d demo hosts, want 10", len(f.Hosts))
	}
	return addrs
}

func hostAddr(t *testing.T, dir, name string) (string, int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, demofleet.FleetFile))
	if err != nil {
		t.Fatal(err)
	}
	f, err := inventory.DecodeYAML("fleet.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := f.Host(name)
	if !ok {
		t.Fatalf("no host %s in the demo fleet", name)
	}
	return h.Address, h.Port
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	out, err := exec.Command("curl", "-sS", "-m", "10", url).CombinedOutput()
	if err != nil {
		t.Errorf("GET %s: %v %s", url, err, out)
	}
	return string(out)
}

// checkNothingLeft fails when a process of the demo in dir still runs or
// something listens on one of its addresses.
func checkNothingLeft(t *testing.T, dir string, addrs map[string]bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		procs := demofleet.Marked(dir)
		ports := listeningOn(t, addrs)
		if len(procs) == 0 && len(ports) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, pid := range procs {
				cmdline, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
				t.Errorf("demo process %d still runs: %s", pid, strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
			for _, p := range ports {
				t.Errorf("%s still listens", p)
			}
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// listeningOn lists the listening TCP sockets (/proc/net/tcp) on addrs.
func listeningOn(t *testing.T, addrs map[string]bool) []string {
	t.Helper()
	f, err := os.Open("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A: LISTEN
			continue
		}
		ipHex, portHex, ok := strings.Cut(fields[1], ":")
		b, err := hex.DecodeString(ipHex)
		if !ok || err != nil || len(b) != 4 {
			continue
		}
		ip := net.IPv4(b[3], b[2], b[1], b[0]).String() // little-endian
		if addrs[ip] {
			out = append(out, ip+":"+portHex)
		}
	}
	return out
}
