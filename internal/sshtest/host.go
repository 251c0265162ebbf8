package sshtest

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

const (
	readyTimeout = 30 * time.Second // until a started sshd must show its banner
	bootAttempts = 5                // starts tried when sshd cannot bind its port
	logTail      = 8 << 10          // bytes of the sshd log quoted in errors
)

// isolateScript runs as the init process of a host's new PID, UTS and mount
// namespaces (created by the kernel at clone, the mount namespace made
// private by Go before the exec): it mounts the host's home over the login
// home and a /proc for the new PID namespace, sets the hostname, and becomes
// sshd. Arguments: home, login home, hostname, then the sshd command.
const isolateScript = `set -e
mount --bind "$1" "$2"
mount -t proc proc /proc
printf '%s' "$3" >/proc/sys/kernel/hostname
shift 3
exec "$@"`

// Host is one sshd of a [Fleet]. Its exported fields must not be modified;
// its methods may be called from any goroutine.
type Host struct {
	Name    string        // the host's name; `uname -n` answers it when isolated
	Addr    string        // loopback IP address, unique in the fleet
	Port    int           // TCP port sshd listens on
	HostKey ssh.PublicKey // the host's ed25519 key
	LogPath string        // sshd's log (LogLevel VERBOSE) and its stderr

	// Home is the directory the login user's home shows on the host. When
	// isolated it is the host's own directory, empty at start, kept across
	// Kill and Restart; otherwise it is the user's real home.
	Home string

	dir        string   // the host's directory in the fleet directory
	configPath string   // its sshd_config
	keyPath    string   // its private host key
	config     []string // sshd_config lines but ListenAddress and HostKey
	loginHome  string
	isolated   bool
	freePort   func(addr string) (int, error)

	mu   sync.Mutex
	proc *process // nil while the host is down
}

// process is one run of a host's sshd.
type process struct {
	cmd   *exec.Cmd
	pidNS string        // its PID namespace (/proc/PID/ns/pid) when isolated
	done  chan struct{} // closed once the process has been waited for
}

// hostSpec holds what newHost needs to create a host.
type hostSpec struct {
	name, dir, addr string
	login           *loginUser
	isolated        bool
	config          []string
	freePort        func(addr string) (int, error)
}

// newHost creates a host's directory, host key and home; it does not start
// sshd.
func newHost(s hostSpec) (*Host, error) {
	h := &Host{
		Name:       s.name,
		Addr:       s.addr,
		LogPath:    filepath.Join(s.dir, "sshd.log"),
		Home:       s.login.home,
		dir:        s.dir,
		configPath: filepath.Join(s.dir, "sshd_config"),
		keyPath:    filepath.Join(s.dir, "ssh_host_ed25519_key"),
		config:     s.config,
		loginHome:  s.login.home,
		isolated:   s.isolated,
		freePort:   s.freePort,
	}
	if err := os.Mkdir(s.dir, 0o700); err != nil {
		return nil, err
	}
	if s.isolated {
		h.Home = filepath.Join(s.dir, "home")
		if err := os.Mkdir(h.Home, 0o700); err != nil {
			return nil, err
		}
		if !s.login.own {
			if err := os.Chown(h.Home, s.login.uid, s.login.gid); err != nil {
				return nil, err
			}
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if h.HostKey, err = ssh.NewPublicKey(pub); err != nil {
		return nil, err
	}
	return h, writePrivateKey(h.keyPath, priv, "")
}

// Address returns the host's "addr:port".
func (h *Host) Address() string {
	return net.JoinHostPort(h.Addr, strconv.Itoa(h.Port))
}

// PID returns the process id of the host's sshd, or 0 while it is down.
func (h *Host) PID() int {
	if p := h.current(); p != nil {
		return p.cmd.Process.Pid
	}
	return 0
}

// Log returns the host's sshd log, for debugging.
func (h *Host) Log() string {
	b, err := os.ReadFile(h.LogPath)
	if err != nil {
		return fmt.Sprintf("(reading sshd log: %v)", err)
	}
	return string(b)
}

// Kill takes the host down: it kills its sshd with SIGKILL and, when
// isolated, every process started on the host with it, and waits for them.
// Connections to the host are then refused. Kill does nothing when the host
// is already down.
func (h *Host) Kill() {
	h.mu.Lock()
	p := h.proc
	h.proc = nil
	h.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Stop hangs the host: it sends SIGSTOP to its sshd and to every process on
// the host. The kernel still accepts TCP connections, but no SSH banner comes
// and running sessions stall, until Cont. Stop does nothing while the host is
// down.
func (h *Host) Stop() { h.signal(syscall.SIGSTOP) }

// Cont resumes a host stopped by Stop.
func (h *Host) Cont() { h.signal(syscall.SIGCONT) }

// Restart reboots the host: it kills it if it is up, then starts sshd again
// on the same address and port with the same host key and home directory.
func (h *Host) Restart(t testing.TB) {
	t.Helper()
	h.Kill()
	if err := h.start(false); err != nil {
		t.Fatalf("sshtest: restarting %s: %v", h.Name, err)
	}
}

// current returns the running process, or nil.
func (h *Host) current() *process {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.proc
}

// signal sends sig to the host's sshd first, so that it starts no new
// session, then to every process on the host, twice to catch processes
// forked meanwhile.
func (h *Host) signal(sig syscall.Signal) {
	p := h.current()
	if p == nil {
		return
	}
	_ = syscall.Kill(p.cmd.Process.Pid, sig)
	for range 2 {
		signalAll(p.members(), sig)
	}
}

// boot starts the host on a free port, trying other ports when sshd cannot
// bind one (another process may take a port between the probe and sshd's
// bind).
func (h *Host) boot() error {
	var err error
	for range bootAttempts {
		if err = h.start(true); !errors.Is(err, errBind) {
			return err
		}
	}
	return err
}

// errBind marks a start that failed because sshd could not bind its port.
var errBind = errors.New("sshd could not bind its address")

// start writes the host's sshd_config, on a new free port if newPort is set,
// starts sshd and waits until it shows its SSH banner.
func (h *Host) start(newPort bool) error {
	if newPort {
		port, err := h.freePort(h.Addr)
		if err != nil {
			return fmt.Errorf("host %s: %w", h.Name, err)
		}
		h.Port = port
	}
	if err := h.writeConfig(); err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	p, logStart, err := h.launch()
	if err != nil {
		return fmt.Errorf("host %s: %w", h.Name, err)
	}
	h.mu.Lock()
	h.proc = p
	h.mu.Unlock()
	if err := waitReady(h.Address(), p.done, readyTimeout); err != nil {
		h.Kill()
		return h.startError(err, logStart)
	}
	return nil
}

// writeConfig writes the host's sshd_config for its current port.
func (h *Host) writeConfig() error {
	lines := append([]string(nil), h.config...)
	lines = append(lines,
		"ListenAddress "+h.Address(),
		"HostKey "+quoteArg(h.keyPath),
	)
	return os.WriteFile(h.configPath, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}

// launch marks the start in the host's log, starts its sshd (in its own
// namespaces when isolated) with a goroutine that waits for it, and returns
// the log's size before the mark.
func (h *Host) launch() (p *process, logStart int64, err error) {
	logFile, err := os.OpenFile(h.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, err
	}
	defer logFile.Close() // the child has its own descriptor
	fi, err := logFile.Stat()
	if err != nil {
		return nil, 0, err
	}
	_, err = fmt.Fprintf(logFile, "=== sshtest: starting %s on %s at %s\n",
		h.Name, h.Address(), time.Now().Format(time.RFC3339Nano))
	if err != nil {
		return nil, 0, err
	}
	cmd := h.command(logFile)
	if err := cmd.Start(); err != nil {
		return nil, 0, fmt.Errorf("starting sshd: %w", err)
	}
	p = &process{cmd: cmd, done: make(chan struct{})}
	if h.isolated {
		// The child is in its namespaces from the clone on; if it has
		// already died, members falls back to its (empty) descendants.
		p.pidNS, _ = os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", cmd.Process.Pid))
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	return p, fi.Size(), nil
}

// command returns the command that runs the host's sshd, with its output to
// logFile. The parent-death signal kills sshd if the test binary dies without
// cleaning up (it fires when the thread that started sshd ends, and the Go
// runtime only ends threads locked by runtime.LockOSThread); as the init of
// its PID namespace, its death kills the host.
func (h *Host) command(logFile *os.File) *exec.Cmd {
	sshd := []string{SSHDPath, "-D", "-f", h.configPath, "-E", h.LogPath}
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var cmd *exec.Cmd
	if h.isolated {
		args := append([]string{"-c", isolateScript, "sshtest", h.Home, h.loginHome, h.Name}, sshd...)
		cmd = exec.Command("/bin/sh", args...)
		attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS
		attr.Unshareflags = syscall.CLONE_NEWNS // Go also makes "/" private
	} else {
		cmd = exec.Command(sshd[0], sshd[1:]...)
	}
	cmd.SysProcAttr = attr
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.Dir = "/"
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	return cmd
}

// startError describes a failed start with the tail of the sshd log written
// since logStart, and marks bind failures with errBind.
func (h *Host) startError(err error, logStart int64) error {
	log := h.Log()
	if logStart <= int64(len(log)) {
		log = log[logStart:]
	}
	if strings.Contains(log, "Address already in use") || strings.Contains(log, "Cannot bind any address") {
		err = fmt.Errorf("%w: %w", errBind, err)
	}
	if len(log) > logTail {
		log = "..." + log[len(log)-logTail:]
	}
	return fmt.Errorf("host %s on %s: %w\n--- %s ---\n%s--- end of log ---", h.Name, h.Address(), err, h.LogPath, log)
}

// kill kills the process and everything on its host, and waits for it.
func (p *process) kill() {
	pid := p.cmd.Process.Pid
	if p.pidNS == "" {
		// No PID namespace does the work: freeze the tree so that no
		// process escapes by forking or by being reparented, then kill it.
		_ = syscall.Kill(pid, syscall.SIGSTOP)
		for range 2 {
			signalAll(p.members(), syscall.SIGSTOP)
		}
		members := p.members()
		signalAll(members, syscall.SIGKILL)
		_ = syscall.Kill(-pid, syscall.SIGKILL) // its process group
		waitDead(members, 5*time.Second)
	}
	// The death of a PID namespace's init kills every process in it, and
	// init is only reported dead once all of them are.
	_ = syscall.Kill(pid, syscall.SIGKILL)
	<-p.done
}

// errExited reports that sshd exited before it was ready.
var errExited = errors.New("sshd exited")

// waitReady waits until addr answers with an SSH banner, the process exits
// (exited is closed) or timeout passes.
func waitReady(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	delay := 2 * time.Millisecond
	for {
		select {
		case <-exited:
			return errExited
		default:
		}
		err := readBanner(addr, deadline, exited)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SSH banner within %v: %w", timeout, err)
		}
		select {
		case <-exited:
			return errExited
		case <-time.After(delay):
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// readBanner connects to addr and reads the server's SSH identification. It
// gives up when exited is closed: a port taken by another program may accept
// the connection and never answer.
func readBanner(addr string, deadline time.Time, exited <-chan struct{}) error {
	if limit := time.Now().Add(5 * time.Second); limit.Before(deadline) {
		deadline = limit
	}
	conn, err := net.DialTimeout("tcp", addr, time.Until(deadline))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	read := make(chan struct{})
	defer close(read)
	go func() {
		select {
		case <-exited:
			conn.Close()
		case <-read:
		}
	}()
	line, err := bufio.NewReader(io.LimitReader(conn, 256)).ReadString('\n')
	if err != nil {
		return fmt.Errorf("reading banner: %w", err)
	}
	if !strings.HasPrefix(line, "SSH-2.0-") {
		return fmt.Errorf("unexpected banner %q", line)
	}
	return nil
}
