package demofleet

import (
	"context"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/demoapp"
	"github.com/opsui/opsui/inventory"
)

// Fleet is a running demo fleet.
type Fleet struct {
	Dir   string
	Hosts []Host
	Repo  *demoapp.Repo

	opts    Options
	procs   *Procs
	log     *log.Logger
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	control net.Listener

	mu          sync.Mutex // over the hosts' processes and faults
	procsByHost []*hostProc
	stopped     bool
}

// Options are what Start needs from its caller.
type Options struct {
	// HostCommand returns the command that runs the process of host name
	// of the demo in dir: a program that calls ServeHostProcess(ctx, dir,
	// name). The fleet adds its pipes and environment.
	HostCommand func(dir, name string) *exec.Cmd
}

// Start brings up the demo fleet in dir (created if missing): keys, one SSH
// server process per host on its own loopback address (so one host can be
// stopped or hung alone: Inject), opsui's known_hosts for them, the demo
// app's repository, memcached on the cache hosts and nginx on the
// balancers, a trickle of traffic, and the control socket InjectFault
// talks to. logger gets the fleet's log (nil: discarded). Stop tears it
// all down; Start undoes what it did when it fails.
func Start(ctx context.Context, dir string, logger *log.Logger, opts Options) (f *Fleet, err error) {
	if logger == nil {
		logger = log.New(discard{}, "", 0)
	}
	if opts.HostCommand == nil {
		return nil, errors.New("demo fleet: no command for the hosts' processes")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("demo directory: %w", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, HomeDir), filepath.Join(dir, DataHome, "opsui")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("demo directory: %w", err)
		}
	}
	procs, err := NewProcs(dir, PidFiles(dir)...)
	if err != nil {
		return nil, err
	}
	bg, cancel := context.WithCancel(context.Background())
	f = &Fleet{Dir: dir, procs: procs, log: logger, cancel: cancel, opts: opts}
	defer func() {
		if err != nil {
			f.Stop(context.WithoutCancel(ctx))
		}
	}()
	if _, err := loadOrCreateKey(filepath.Join(dir, KeyFile)); err != nil {
		return nil, err
	}
	lns, err := f.place()
	if err != nil {
		return nil, err
	}
	closeListeners(lns) // each host's process listens on its address itself
	keys := map[string]ssh.Signer{}
	for _, h := range f.Hosts {
		if keys[h.Name], err = loadOrCreateKey(hostKeyPath(dir, h.Name)); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(h.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("host directory: %w", err)
		}
		f.procsByHost = append(f.procsByHost, &hostProc{host: h, env: f.hostEnv(h), fault: FaultOK})
	}
	f.mu.Lock()
	for _, hp := range f.procsByHost {
		if err := f.startHost(ctx, hp); err != nil {
			f.mu.Unlock()
			return nil, err
		}
	}
	f.mu.Unlock()
	if err := writeKnownHosts(filepath.Join(dir, KnownHosts), f.Hosts, keys); err != nil {
		return nil, err
	}
	if f.Repo, err = openOrCreateRepo(ctx, filepath.Join(dir, RepoDir)); err != nil {
		return nil, err
	}
	if err := f.boot(ctx); err != nil {
		return nil, err
	}
	if err := f.serveControl(bg); err != nil {
		return nil, err
	}
	f.wg.Add(2)
	go func() { defer f.wg.Done(); procs.Reap(bg, 2*time.Second) }()
	go func() { defer f.wg.Done(); traffic(bg, f.Hosts) }()
	logger.Printf("demo fleet up: %d hosts in %s", len(f.Hosts), dir)
	return f, nil
}

// openOrCreateRepo creates the demo app's repository, or opens the one an
// earlier demo in the same directory created.
func openOrCreateRepo(ctx context.Context, dir string) (*demoapp.Repo, error) {
	if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
		if err := os.RemoveAll(dir); err != nil { // recreated: same commits, same hashes
			return nil, fmt.Errorf("demo app: %w", err)
		}
	}
	repo, err := demoapp.Create(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("demo app: %w", err)
	}
	return repo, nil
}

// place picks the hosts' addresses: the first 127.0.<200+k>.0/24 block
// whose SSH and service ports are all free, else (no such loopback
// addresses, as on macOS) ports of their own on 127.0.0.1. It returns the
// hosts' SSH listeners.
func (f *Fleet) place() ([]net.Listener, error) {
	var last error
	for k := range subnetCount {
		hosts := Layout(f.Dir, k, false, 0)
		lns, err := listenAll(hosts)
		if err == nil {
			f.Hosts = hosts
			return lns, nil
		}
		last = err
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			break
		}
	}
	for range 20 {
		hosts := Layout(f.Dir, 0, true, 20000+10*rand.IntN(4000))
		lns, err := listenAll(hosts)
		if err == nil {
			f.Hosts = hosts
			return lns, nil
		}
		last = err
	}
	return nil, fmt.Errorf("no free loopback addresses for the demo hosts: %w", last)
}

// listenAll binds every host's SSH address and checks that its service
// port is free.
func listenAll(hosts []Host) ([]net.Listener, error) {
	var lns []net.Listener
	for _, h := range hosts {
		ln, err := net.Listen("tcp", h.SSHAddr())
		if err != nil {
			closeListeners(lns)
			return nil, err
		}
		lns = append(lns, ln)
		if h.Port != 0 {
			probe, err := net.Listen("tcp", h.ServiceAddr())
			if err != nil {
				closeListeners(lns)
				return nil, err
			}
			probe.Close()
		}
	}
	return lns, nil
}

func closeListeners(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

// hostEnv is what a host's commands get on top of the usual variables,
// as sshd's SetEnv would give them: the app reports the host's name (the
// demo's hosts share one machine, whose hostname would name them all), and
// web hosts find their environment's database on its db host.
func (f *Fleet) hostEnv(h Host) []string {
	env := []string{"OPSUI_DEMO_ENV=" + h.Env, demoapp.EnvHostName + "=" + h.Name}
	if h.has("web") {
		for _, o := range f.Hosts {
			if o.Env == h.Env && o.has("db") {
				env = append(env, demoapp.EnvDBPath+"="+dbPath(o))
			}
		}
	}
	return env
}

// boot starts every host's service.
func (f *Fleet) boot(ctx context.Context) error {
	for i, h := range f.Hosts {
		var backends []string
		for _, o := range f.Hosts {
			if o.Env == h.Env && o.has("web") {
				backends = append(backends, o.ServiceAddr())
			}
		}
		script, err := bootScript(h, backends)
		if err != nil {
			return err
		}
		if script == "" {
			continue
		}
		cfg := HostConfig{Name: h.Name, Dir: h.Dir, Env: f.procsByHost[i].env, Shell: "/bin/sh"}
		if out, err := runScript(ctx, cfg, f.procs, script); err != nil {
			return fmt.Errorf("start the service of %s: %w", h.Name, err)
		} else if out != "" {
			f.log.Printf("%s: %s", h.Name, out)
		}
	}
	return nil
}

// Inventory is the fleet as opsui's inventory.
func (f *Fleet) Inventory() *inventory.Fleet { return Inventory(f.Dir, f.Hosts) }

// Stop tears the fleet down: no more connections, every host's process
// (hung ones too), every command and every service the hosts started
// killed (SIGTERM, then SIGKILL), every port closed.
func (f *Fleet) Stop(context.Context) error {
	f.cancel()
	if f.control != nil {
		f.control.Close()
		os.Remove(controlSocket(f.Dir))
	}
	f.mu.Lock()
	f.stopped = true
	var wg sync.WaitGroup
	for _, hp := range f.procsByHost {
		wg.Add(1)
		go func() { defer wg.Done(); f.stopHost(hp) }()
	}
	wg.Wait()
	f.mu.Unlock()
	f.procs.Stop(3 * time.Second)
	f.wg.Wait()
	f.log.Printf("demo fleet stopped")
	return nil
}

// RepoHash returns the full hash of the commit of the demo app in dir
// whose subject is subject (demoapp.CommitInitial...), or "".
func RepoHash(dir, subject string) string {
	out, err := exec.Command("git", "-C", filepath.Join(dir, RepoDir), "log", "--format=%H %s").Output()
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(out), "\n") {
		if h, s, ok := strings.Cut(line, " "); ok && s == subject {
			return h
		}
	}
	return ""
}

// PidFiles are the glob patterns of the pid files of the services the
// hosts of the demo in dir start.
func PidFiles(dir string) []string {
	return []string{
		filepath.Join(dir, pidFileGlob),
		filepath.Join(dir, HostsDir, "*", nginxDir, "nginx.pid"),
		filepath.Join(dir, HostsDir, "*", "memcached.pid"),
	}
}
