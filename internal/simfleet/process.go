package simfleet

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// childEnv carries a child fleet's Config (JSON) to the test binary that
// Spawn starts again.
const childEnv = "OPSUI_SIMFLEET_CHILD"

// HostInfo is what a client needs of a host in a child fleet.
type HostInfo struct {
	Name string
	Addr string
	Port int
}

// Process is a fleet served by a child process (Spawn).
type Process struct {
	Hosts          []HostInfo
	User           string
	ClientKeyPath  string
	KnownHostsPath string

	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	mu    sync.Mutex // one control request at a time
}

// ready is the child's first line on its stdout.
type ready struct {
	Hosts          []HostInfo
	User           string
	ClientKeyPath  string
	KnownHostsPath string
	Err            string
}

// ServeIfChild serves a fleet and exits when this process is a child
// started by Spawn; otherwise it returns at once. A package whose tests
// use Spawn calls it first, from an init function of a test file, so the
// test binary can be its own fleet.
func ServeIfChild() {
	js := os.Getenv(childEnv)
	if js == "" {
		return
	}
	os.Exit(serveChild(js, os.Stdin, os.Stdout))
}

// serveChild starts the fleet, says ready, then obeys "fault I NAME"
// lines (answering "ok" or the error) until its input ends.
func serveChild(js string, in io.Reader, out io.Writer) int {
	var cfg Config
	enc := json.NewEncoder(out)
	if err := json.Unmarshal([]byte(js), &cfg); err != nil {
		_ = enc.Encode(ready{Err: fmt.Sprintf("config: %v", err)})
		return 2
	}
	f, err := Start(context.Background(), cfg)
	if err != nil {
		_ = enc.Encode(ready{Err: err.Error()})
		return 1
	}
	defer f.Close()
	r := ready{User: f.User, ClientKeyPath: f.ClientKeyPath, KnownHostsPath: f.KnownHostsPath}
	for _, h := range f.Hosts {
		r.Hosts = append(r.Hosts, HostInfo{Name: h.Name, Addr: h.Addr, Port: h.Port})
	}
	if err := enc.Encode(r); err != nil {
		return 1
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		answer := "ok"
		if err := control(f, sc.Text()); err != nil {
			answer = err.Error()
		}
		fmt.Fprintln(out, answer)
	}
	return 0
}

// control runs one control line.
func control(f *Fleet, line string) error {
	w := strings.Fields(line)
	if len(w) != 3 || w[0] != "fault" {
		return fmt.Errorf("simfleet: bad control line %q (want: fault INDEX healthy|refuse|hang)", line)
	}
	i, err := strconv.Atoi(w[1])
	if err != nil {
		return fmt.Errorf("simfleet: bad host index %q", w[1])
	}
	fault, err := ParseFault(w[2])
	if err != nil {
		return err
	}
	return f.SetFault(i, fault)
}

// Spawn starts cfg's fleet in a child process: this test binary again,
// which must call ServeIfChild from an init function. cfg.Dir defaults to
// a temporary directory of the test. The child is stopped when the test
// ends.
func Spawn(t interface {
	Helper()
	TempDir() string
	Cleanup(func())
	Fatalf(string, ...any)
}, cfg Config) *Process {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatalf("simfleet: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("simfleet: %v", err)
	}
	cmd := exec.Command(self, "-test.run=^$", "-test.bench=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(js))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatalf("simfleet: %v", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("simfleet: %v", err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("simfleet: start the fleet process: %v", err)
	}
	p := &Process{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(p.Close)
	var r ready
	line, err := p.out.ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &r)
	}
	switch {
	case err != nil:
		t.Fatalf("simfleet: the fleet process did not start (does the test package call ServeIfChild from an init function?): %v", err)
	case r.Err != "":
		t.Fatalf("simfleet: the fleet process: %s", r.Err)
	}
	p.Hosts, p.User, p.ClientKeyPath, p.KnownHostsPath = r.Hosts, r.User, r.ClientKeyPath, r.KnownHostsPath
	return p
}

// SetFault changes host i's fault in the child (Fleet.SetFault).
func (p *Process) SetFault(i int, f Fault) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := fmt.Fprintf(p.stdin, "fault %d %s\n", i, f); err != nil {
		return fmt.Errorf("simfleet: control: %w", err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		return fmt.Errorf("simfleet: control: %w", err)
	}
	if line = strings.TrimSpace(line); line != "ok" {
		return errors.New(line)
	}
	return nil
}

// CPU is the processor time the child has used so far (user and system).
func (p *Process) CPU() (time.Duration, error) { return ProcessCPU(p.cmd.Process.Pid) }

// Close stops the child: its input ends, and it is killed if it has not
// exited within 10 s.
func (p *Process) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stdin == nil {
		return
	}
	p.stdin.Close()
	p.stdin = nil
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// clockTick is Linux's USER_HZ, the unit of /proc/PID/stat's times.
const clockTick = 10 * time.Millisecond

// ProcessCPU reads pid's user and system time from /proc/PID/stat.
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("simfleet: cpu of %d: %w", pid, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 13 {
		return 0, fmt.Errorf("simfleet: cpu of %d: unreadable stat", pid)
	}
	// After "(comm)": state is field 3 of the line, utime 14, stime 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("simfleet: cpu of %d: unreadable stat", pid)
	}
	return time.Duration(ut+st) * clockTick, nil
}
