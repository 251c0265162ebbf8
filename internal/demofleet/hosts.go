package demofleet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/opsui/opsui/internal/procfs"
)

// hostProc is one host's process, as the fleet runs it.
type hostProc struct {
	host     Host
	env      []string
	cmd      *exec.Cmd // nil while the host is down
	lifeline *os.File  // the fleet's end of the host's control pipe; closing it stops the host
	acks     *bufio.Reader
	ackPipe  *os.File // the fleet's end of the host's ready pipe
	done     chan struct{}
	fault    Fault // the fault injected last (FaultOK: none)
}

// running reports whether the host's process runs (stopped or not).
func (hp *hostProc) running() bool {
	if hp.cmd == nil {
		return false
	}
	select {
	case <-hp.done:
		return false
	default:
		return true
	}
}

// live is running, except that a process that has died but is not yet
// reaped (a zombie) counts as gone, once reaped.
func (hp *hostProc) live() bool {
	if !hp.running() {
		return false
	}
	if alive(hp.cmd.Process.Pid) {
		return true
	}
	select {
	case <-hp.done:
	case <-time.After(10 * time.Second):
	}
	return false
}

// startHost starts host hp's process and waits until it serves.
func (f *Fleet) startHost(ctx context.Context, hp *hostProc) error {
	f.stopHost(hp) // what is left of a process that died on its own
	if err := writeHostSpec(f.Dir, hp.host, hp.env); err != nil {
		return err
	}
	cmd := f.opts.HostCommand(f.Dir, hp.host.Name)
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, f.procs.marker) // found and killed with the demo's leftovers
	cmd.Stdout, cmd.Stderr = f.log.Writer(), f.log.Writer()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("demo host %s: %w", hp.host.Name, err)
	}
	lifeR, lifeW, err := os.Pipe()
	if err != nil {
		closeAll(readyR, readyW)
		return fmt.Errorf("demo host %s: %w", hp.host.Name, err)
	}
	cmd.ExtraFiles = []*os.File{readyW, lifeR}
	err = f.procs.start(cmd)
	closeAll(readyW, lifeR)
	if err != nil {
		closeAll(readyR, lifeW)
		return fmt.Errorf("demo host %s: %w", hp.host.Name, err)
	}
	hp.cmd, hp.lifeline, hp.ackPipe, hp.acks = cmd, lifeW, readyR, bufio.NewReader(readyR)
	hp.done = make(chan struct{})
	done := hp.done
	go func() {
		err := f.procs.wait(cmd)
		f.log.Printf("%s: process %d ended: %v", hp.host.Name, cmd.Process.Pid, exitText(err))
		close(done)
	}()
	select {
	case l := <-readLine(hp.acks):
		if l == "ok" {
			return nil
		}
		f.stopHost(hp)
		if l == "" {
			l = "it exited"
		}
		return fmt.Errorf("demo host %s did not start: %s", hp.host.Name, l)
	case <-ctx.Done():
		f.stopHost(hp)
		return fmt.Errorf("demo host %s: %w", hp.host.Name, ctx.Err())
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// stopHost stops host hp's process (SIGCONT first: a hung host must be
// able to die), SIGKILL after 15s. Its commands are killed with their
// connections; the services they started run on, as a host's daemons do
// when its sshd stops.
func (f *Fleet) stopHost(hp *hostProc) {
	if hp.cmd == nil {
		return
	}
	closeAll(hp.lifeline, hp.ackPipe)
	if !hp.running() {
		hp.cmd = nil // it died on its own and was reaped: its pid may be another's by now
		return
	}
	pid := hp.cmd.Process.Pid
	syscall.Kill(pid, syscall.SIGTERM)
	syscall.Kill(pid, syscall.SIGCONT)
	select {
	case <-hp.done:
	case <-time.After(15 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-hp.done
	}
	hp.cmd = nil
}

// Pid returns the pid of host name's process, or 0 while it is down.
func (f *Fleet) Pid(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, hp := range f.procsByHost {
		if hp.host.Name == name && hp.running() {
			return hp.cmd.Process.Pid
		}
	}
	return 0
}

// Inject injects fault into host name (see Fault) and says what it did.
// latency is the "slow" fault's added delay (DefaultLatency when 0).
func (f *Fleet) Inject(ctx context.Context, name string, fault Fault, latency time.Duration) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return "", errors.New("the demo fleet is stopping")
	}
	var hp *hostProc
	var names []string
	for _, p := range f.procsByHost {
		names = append(names, p.host.Name)
		if p.host.Name == name {
			hp = p
		}
	}
	if hp == nil {
		return "", fmt.Errorf("no demo host %q (the hosts: %v)", name, names)
	}
	if latency <= 0 {
		latency = DefaultLatency
	}
	// Every fault but down needs the process: "ok" after "down" restarts
	// it, as does any fault on a host whose process died.
	if fault != FaultDown && !hp.live() {
		if err := f.startHost(ctx, hp); err != nil {
			return "", err
		}
	}
	pid := 0
	if hp.running() {
		pid = hp.cmd.Process.Pid
	}
	var msg string
	switch fault {
	case FaultDown:
		f.stopHost(hp)
		msg = fmt.Sprintf("%s is down: its SSH server stopped (pid %d), connections to %s are refused", name, pid, hp.host.SSHAddr())
		if pid == 0 {
			msg = fmt.Sprintf("%s is down: its SSH server was not running", name)
		}
	case FaultHang:
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			return "", fmt.Errorf("hang %s: SIGSTOP pid %d: %w", name, pid, err)
		}
		if err := waitStopped(ctx, pid); err != nil {
			return "", fmt.Errorf("hang %s: %w", name, err)
		}
		msg = fmt.Sprintf("%s hangs: its SSH server (pid %d) is stopped with SIGSTOP; connections to %s are accepted and go silent", name, pid, hp.host.SSHAddr())
	case FaultSlow, FaultOK:
		syscall.Kill(pid, syscall.SIGCONT)
		d := time.Duration(0)
		if fault == FaultSlow {
			d = latency
		}
		if err := f.setLatency(ctx, hp, d); err != nil {
			return "", err
		}
		msg = fmt.Sprintf("%s is slow: %v added before everything its SSH server (pid %d) sends", name, d, pid)
		if fault == FaultOK {
			msg = fmt.Sprintf("%s is back to normal: its SSH server (pid %d) serves %s", name, pid, hp.host.SSHAddr())
		}
	default:
		return "", fmt.Errorf("unknown fault %q", fault)
	}
	hp.fault = fault
	f.log.Printf("fault: %s", msg)
	return msg, nil
}

// setLatency tells host hp's process to delay what it sends by d, and
// waits until it is in force.
func (f *Fleet) setLatency(ctx context.Context, hp *hostProc, d time.Duration) error {
	want := fmt.Sprintf("latency %v", d)
	if _, err := fmt.Fprintln(hp.lifeline, want); err != nil {
		return fmt.Errorf("latency of %s: %w", hp.host.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case l := <-readLine(hp.acks):
		if l != want {
			return fmt.Errorf("latency of %s: its process answered %q", hp.host.Name, l)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("latency of %s: no answer from its process (pid %d): %w", hp.host.Name, hp.cmd.Process.Pid, ctx.Err())
	}
}

// waitStopped waits until pid is stopped (a signal is delivered
// asynchronously), so "hang" is in force when Inject returns.
func waitStopped(ctx context.Context, pid int) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		if state, _, ok := procfs.Stat(pid); !ok || state == "T" {
			return nil // no /proc to look at: take SIGSTOP's word
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pid %d is not stopped after SIGSTOP: %w", pid, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}
