package demofleet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"
)

// outputDrain is how long a finished command's output is still read: a
// background process that kept the command's stdout open (OpenSSH would
// wait for it forever) does not hold the session beyond it.
const outputDrain = 2 * time.Second

// session serves one session channel: env requests, then one exec. When
// the channel closes (the client closed it or the connection died) while
// the command runs, the command's process group is killed.
func (s *Server) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	var env []string
	var run *command
	for r := range reqs {
		switch r.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(r.Payload, &kv) == nil && validEnvName(kv.Name)
			if ok {
				env = append(env, kv.Name+"="+kv.Value)
			}
			reply(r, ok)
		case "exec":
			var ex struct{ Command string }
			if run != nil || ssh.Unmarshal(r.Payload, &ex) != nil {
				reply(r, false)
				continue
			}
			var err error
			run, err = s.start(ch, ex.Command, env)
			if err != nil {
				reply(r, false)
				s.log.Printf("%s: start %q: %v", s.cfg.Name, ex.Command, err)
				run = nil
				continue
			}
			reply(r, true)
			go run.finish(ch)
		case "signal":
			var sig struct{ Signal string }
			if run != nil && ssh.Unmarshal(r.Payload, &sig) == nil {
				if n, ok := signalsByName[ssh.Signal(sig.Signal)]; ok {
					run.signal(n)
				}
			}
			reply(r, run != nil)
		default: // shell, pty-req, subsystem, x11...: not on a demo host
			reply(r, false)
		}
	}
	// The channel is closed.
	if run != nil {
		run.hangUp(s.cfg.KillGrace)
	}
}

func reply(r *ssh.Request, ok bool) {
	if r.WantReply {
		r.Reply(ok, nil)
	}
}

func validEnvName(n string) bool {
	if n == "" {
		return false
	}
	for i, c := range n {
		if c != '_' && !(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && (i == 0 || !(c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// command is one running exec request.
type command struct {
	cmd            *exec.Cmd
	procs          *Procs
	stdin          *os.File // our end of the command's stdin
	stdinOnce      sync.Once
	stdout, stderr *os.File // our ends of its output
	copied         sync.WaitGroup
	done           chan struct{} // closed once the shell is reaped
}

// start runs line with the host's shell in its directory.
func (s *Server) start(ch ssh.Channel, line string, env []string) (*command, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, fmt.Errorf("stderr pipe: %w", err)
	}
	cmd := exec.Command(s.cfg.Shell, "-c", line)
	cmd.Dir = s.cfg.Dir
	cmd.Env = environ(s.cfg, s.procs.marker, env)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	// Its own session and process group, as sshd gives a command: the
	// group is what a closed channel kills.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	c := &command{cmd: cmd, procs: s.procs, stdin: inW, stdout: outR, stderr: errR, done: make(chan struct{})}
	err = s.procs.start(cmd)
	closeAll(inR, outW, errW) // the command holds its own copies
	if err != nil {
		closeAll(inW, outR, errR)
		return nil, err
	}
	go func() {
		io.Copy(inW, ch)
		c.closeStdin() // the client sent EOF: so does the command's stdin
	}()
	c.copied.Add(2)
	go func() { defer c.copied.Done(); io.Copy(ch, outR) }()
	go func() { defer c.copied.Done(); io.Copy(ch.Stderr(), errR) }()
	return c, nil
}

// environ is a command's environment on host cfg: this process's own PATH
// and locale, the host's identity and variables, the demo's marker, then
// what the client sent.
func environ(cfg HostConfig, marker string, extra []string) []string {
	env := []string{"HOME=" + cfg.Dir, "SHELL=" + cfg.Shell, "OPSUI_DEMO_HOST=" + cfg.Name}
	for _, k := range []string{"PATH", "USER", "LOGNAME", "LANG", "LC_ALL", "TZ", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	if marker != "" {
		env = append(env, marker)
	}
	env = append(env, cfg.Env...)
	return append(env, extra...)
}

func (c *command) closeStdin() { c.stdinOnce.Do(func() { c.stdin.Close() }) }

// finish waits for the command, then, as sshd does, closes its stdin (the
// shell is reaped first: opsui's watchdog tells a normal end by the shell
// being gone), drains its output, and sends its exit status.
func (c *command) finish(ch ssh.Channel) {
	err := c.procs.wait(c.cmd)
	close(c.done)
	c.closeStdin()
	drained := make(chan struct{})
	go func() { c.copied.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputDrain):
		closeAll(c.stdout, c.stderr)
		<-drained
	}
	closeAll(c.stdout, c.stderr)
	var ee *exec.ExitError
	switch {
	case err == nil:
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{0}))
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			ch.SendRequest("exit-signal", false, ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{signalName(ws.Signal()), ws.CoreDump(), "", ""}))
			break
		}
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(ee.ExitCode())}))
	default:
		fmt.Fprintf(ch.Stderr(), "demo host: %v\n", err)
		ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{255}))
	}
	ch.CloseWrite()
	ch.Close()
}

// signal sends sig to the command's process group.
func (c *command) signal(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		syscall.Kill(-c.cmd.Process.Pid, sig)
	}
}

// hangUp handles the channel's end: the command's stdin ends, and if the
// command still runs its process group gets SIGTERM, then SIGKILL after
// grace. A command that had ended keeps what it started in the background.
func (c *command) hangUp(grace time.Duration) {
	c.closeStdin()
	select {
	case <-c.done:
		return
	default:
	}
	pgid := c.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(grace):
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
	<-c.done
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		f.Close()
	}
}

var signalsByName = map[ssh.Signal]syscall.Signal{
	ssh.SIGABRT: syscall.SIGABRT, ssh.SIGALRM: syscall.SIGALRM, ssh.SIGFPE: syscall.SIGFPE,
	ssh.SIGHUP: syscall.SIGHUP, ssh.SIGILL: syscall.SIGILL, ssh.SIGINT: syscall.SIGINT,
	ssh.SIGKILL: syscall.SIGKILL, ssh.SIGPIPE: syscall.SIGPIPE, ssh.SIGQUIT: syscall.SIGQUIT,
	ssh.SIGSEGV: syscall.SIGSEGV, ssh.SIGTERM: syscall.SIGTERM, ssh.SIGUSR1: syscall.SIGUSR1,
	ssh.SIGUSR2: syscall.SIGUSR2,
}

func signalName(sig syscall.Signal) string {
	for name, n := range signalsByName {
		if n == sig {
			return string(name)
		}
	}
	return strings.ToUpper(strings.TrimPrefix(sig.String(), "signal "))
}
