package webtest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// DefaultBackendParams are the parameters of every upstream server line.
// nginx's defaults (max_fails=1 fail_timeout=10s) take a backend out for ten
// seconds after a single failed connection, so a backend that is reloading
// or restarting takes the whole site down; max_fails=0 never marks a
// backend failed, and proxy_next_upstream retries the request on another.
const DefaultBackendParams = "max_fails=0"

// Nginx is a running nginx load balancer started by [StartNginx].
type Nginx struct {
	Addr         string // "host:port" it listens on
	Prefix       string // its prefix directory: config, pid, logs, temp files
	ConfigPath   string // nginx.conf
	UpstreamPath string // the upstream's server lines, included by nginx.conf
	ErrorLogPath string
	AccessLog    string // access log path ("" when off)

	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}

	mu       sync.Mutex
	backends []string
	down     map[string]bool
}

// NginxOption configures [StartNginx].
type NginxOption func(*nginxOptions)

type nginxOptions struct {
	accessLog bool
}

// WithAccessLog turns the access log on (logs/access.log); it is off by
// default, as load tests would fill it.
func WithAccessLog() NginxOption {
	return func(o *nginxOptions) { o.accessLog = true }
}

// StartNginx starts a real nginx (master and one worker, not daemonized)
// listening on listen ("127.0.0.1:0" picks a free port) and proxying every
// request to an upstream of backends ("host:port"), round robin over
// keep-alive connections. A request that fails on one backend (connection
// error, timeout, 502, 503) is retried on the next. Its files live in
// t.TempDir(); it is stopped at cleanup. The test is skipped when nginx is
// missing (see [RequireNginx]).
func StartNginx(t testing.TB, listen string, backends []string, opts ...NginxOption) *Nginx {
	t.Helper()
	RequireNginx(t)
	if len(backends) == 0 {
		t.Fatal("webtest: StartNginx needs at least one backend")
	}
	var o nginxOptions
	for _, opt := range opts {
		opt(&o)
	}
	prefix := t.TempDir()
	n := &Nginx{
		Prefix:       prefix,
		ConfigPath:   filepath.Join(prefix, "nginx.conf"),
		UpstreamPath: filepath.Join(prefix, "upstream.conf"),
		ErrorLogPath: filepath.Join(prefix, "logs", "error.log"),
		t:            t,
		backends:     slices.Clone(backends),
		down:         make(map[string]bool),
	}
	if o.accessLog {
		n.AccessLog = filepath.Join(prefix, "logs", "access.log")
	}
	if err := os.MkdirAll(filepath.Join(prefix, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(prefix, "tmp"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := n.writeUpstream(); err != nil {
		t.Fatal(err)
	}
	var err error
	for attempt := 0; ; attempt++ {
		addr := listen
		if addr, err = pickPort(listen); err != nil {
			t.Fatalf("webtest: %v", err)
		}
		n.Addr = addr
		if err := os.WriteFile(n.ConfigPath, []byte(n.config()), 0o644); err != nil {
			t.Fatal(err)
		}
		if err = n.start(); err == nil {
			break
		}
		// Another process may take a port picked for ":0" before nginx
		// binds it.
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 4 || !strings.HasSuffix(listen, ":0") {
			t.Fatalf("webtest: starting nginx on %s: %v", addr, err)
		}
	}
	t.Cleanup(n.stop)
	return n
}

// pickPort replaces port 0 in listen with a port free right now.
func pickPort(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", err
	}
	if port != "0" {
		return listen, nil
	}
	free, err := testenv.FreePort(host)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(host, strconv.Itoa(free)), nil
}

// config returns nginx.conf.
func (n *Nginx) config() string {
	var b strings.Builder
	tmp := filepath.Join(n.Prefix, "tmp")
	if os.Geteuid() == 0 {
		// Workers would otherwise run as nobody, who cannot enter the
		// test's private temporary directory.
		b.WriteString("user root;\n")
	}
	fmt.Fprintf(&b, `daemon off;
master_process on;
worker_processes 1;
worker_shutdown_timeout 5s;
pid %[1]s;
error_log %[2]s notice;
events { worker_connections 4096; }
http {
    access_log %[3]s;
    client_body_temp_path %[4]s/client;
    proxy_temp_path %[4]s/proxy;
    fastcgi_temp_path %[4]s/fastcgi;
    uwsgi_temp_path %[4]s/uwsgi;
    scgi_temp_path %[4]s/scgi;
    keepalive_requests 1000000;
    upstream backends {
        include %[5]s;
        keepalive 64;
    }
    server {
        listen %[6]s;
        location / {
            proxy_pass http://backends;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_next_upstream error timeout http_502 http_503;
            proxy_next_upstream_tries 0;
            proxy_next_upstream_timeout 10s;
`, filepath.Join(n.Prefix, "nginx.pid"), n.ErrorLogPath, orDefault(n.AccessLog, "off"), tmp, n.UpstreamPath, n.Addr)
	b.WriteString("        }\n    }\n}\n")
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// upstream returns the server lines of the upstream.
func (n *Nginx) upstream() string {
	var b strings.Builder
	for _, be := range n.backends {
		fmt.Fprintf(&b, "server %s %s", be, DefaultBackendParams)
		if n.down[be] {
			b.WriteString(" down")
		}
		b.WriteString(";\n")
	}
	return b.String()
}

// writeUpstream writes the upstream file atomically.
func (n *Nginx) writeUpstream() error {
	tmp := n.UpstreamPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(n.upstream()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.UpstreamPath)
}

// start starts nginx and waits until it accepts connections.
func (n *Nginx) start() error {
	if out, err := exec.Command(NginxPath, "-t", "-q", "-e", n.ErrorLogPath, "-p", n.Prefix, "-c", n.ConfigPath).CombinedOutput(); err != nil {
		return fmt.Errorf("nginx -t: %v: %s", err, out)
	}
	cmd := exec.Command(NginxPath, "-e", n.ErrorLogPath, "-p", n.Prefix, "-c", n.ConfigPath)
	cmd.Dir = n.Prefix
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	n.cmd = cmd
	n.done = make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(n.done)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-n.done:
			return fmt.Errorf("nginx exited: %s\n%s", stderr.String(), n.errorLog())
		default:
		}
		if c, err := net.DialTimeout("tcp", n.Addr, time.Second); err == nil {
			c.Close()
			if len(n.workers()) > 0 || !haveProc() {
				return nil
			}
		}
		if time.Now().After(deadline) {
			n.kill()
			return fmt.Errorf("nginx not listening on %s after 15s\n%s", n.Addr, n.errorLog())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// PID returns the master's process id.
func (n *Nginx) PID() int { return n.cmd.Process.Pid }

// URL returns "http://Addr" + path.
func (n *Nginx) URL(path string) string { return "http://" + n.Addr + path }

// Backends returns the upstream's backends and whether each is marked down.
func (n *Nginx) Backends() map[string]bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	m := make(map[string]bool, len(n.backends))
	for _, b := range n.backends {
		m[b] = n.down[b]
	}
	return m
}

// SetDown marks backend down (or up again) in the upstream and reloads
// nginx; when it returns, no new request goes to a backend marked down.
// Requests already sent to it complete.
func (n *Nginx) SetDown(backend string, down bool) {
	n.t.Helper()
	n.mu.Lock()
	if !slices.Contains(n.backends, backend) {
		n.mu.Unlock()
		n.t.Fatalf("webtest: nginx has no backend %q (have %v)", backend, n.backends)
	}
	n.down[backend] = down
	err := n.writeUpstream()
	n.mu.Unlock()
	if err != nil {
		n.t.Fatal(err)
	}
	n.Reload()
}

// Reload makes nginx re-read its configuration (SIGHUP) and waits until the
// workers of the old configuration have exited, so that every request after
// it returns is handled with the new one. Old workers finish their requests
// in flight; idle keep-alive connections to them are closed, and a client
// reconnects (Go's http.Transport retries such a request by itself).
func (n *Nginx) Reload() {
	n.t.Helper()
	if err := n.reload(); err != nil {
		n.t.Fatalf("webtest: reloading nginx: %v", err)
	}
}

func (n *Nginx) reload() error {
	if out, err := exec.Command(NginxPath, "-t", "-q", "-e", n.ErrorLogPath, "-p", n.Prefix, "-c", n.ConfigPath).CombinedOutput(); err != nil {
		return fmt.Errorf("nginx -t: %v: %s", err, out)
	}
	old := n.workers()
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		return err
	}
	if !haveProc() {
		time.Sleep(500 * time.Millisecond)
		return nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		now := n.workers()
		replaced := len(now) > 0
		for _, pid := range now {
			if slices.Contains(old, pid) {
				replaced = false
			}
		}
		if replaced {
			return nil
		}
		select {
		case <-n.done:
			return fmt.Errorf("nginx exited\n%s", n.errorLog())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("old workers %v still running after 15s (now %v)\n%s", old, now, n.errorLog())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// workers returns the pids of the master's live children.
func (n *Nginx) workers() []int {
	return children(n.cmd.Process.Pid)
}

// errorLog returns the error log's tail.
func (n *Nginx) errorLog() string {
	b, err := os.ReadFile(n.ErrorLogPath)
	if err != nil {
		return fmt.Sprintf("(error log: %v)", err)
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return "--- " + n.ErrorLogPath + " ---\n" + string(b)
}

// stop stops nginx at cleanup: a fast shutdown (TERM), then KILL of its
// process group.
func (n *Nginx) stop() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(5 * time.Second):
		n.t.Logf("webtest: nginx did not stop on TERM within 5s; killing it")
	}
	n.kill()
}

func (n *Nginx) kill() {
	_ = syscall.Kill(-n.cmd.Process.Pid, syscall.SIGKILL)
	<-n.done
}

// haveProc reports whether /proc lists processes (Linux).
func haveProc() bool {
	_, err := os.Stat("/proc/self/stat")
	return err == nil
}

// children returns the pids of ppid's children that are alive (not zombies).
func children(ppid int) []int {
	entries, _ := os.ReadDir("/proc")
	var list []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		state, parent, err := procStat(pid)
		if err == nil && parent == ppid && state != "Z" && state != "X" {
			list = append(list, pid)
		}
	}
	return list
}

// procStat returns the state and parent pid from /proc/PID/stat.
func procStat(pid int) (state string, ppid int, err error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, err
	}
	// "pid (comm) state ppid ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return "", 0, errors.New("malformed stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return "", 0, errors.New("malformed stat")
	}
	ppid, err = strconv.Atoi(f[1])
	return f[0], ppid, err
}
