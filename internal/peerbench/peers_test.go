package peerbench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
)

// pythonForFabric is Debian's python: the python3 first on PATH on the
// opsui machines is a pyenv build that does not see Debian's packages.
const pythonForFabric = "/usr/bin/python3"

// kexCurve25519 is the OpenSSH option of the cheaper key exchange (OpenSSH
// 9.2's default, sntrup761x25519, costs ~90 ms of client CPU per connection).
const kexCurve25519 = "KexAlgorithms=curve25519-sha256"

func numCPU() int { return runtime.NumCPU() }

// toolVersions names the versions of the peers' tools, for the table's
// header.
func toolVersions() string {
	version := func(name string, args ...string) string {
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			return "not installed"
		}
		return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return fmt.Sprintf("Tools: %s; sshd %s; parallel-ssh %s; Fabric/paramiko %s; Go %s.",
		version("ssh", "-V"),
		version(sshtest.SSHDPath, "-V"),
		version("parallel-ssh", "--version"),
		strings.ReplaceAll(version(pythonForFabric, "-c", "import fabric, paramiko; print(fabric.__version__ + '/' + paramiko.__version__)"), "\n", " "),
		runtime.Version())
}

// unamePeers are the rows of the `uname -n` table, in table order.
func unamePeers() []peer {
	const cmd = "uname -n"
	peers := []peer{
		{
			id: "pssh", label: "parallel-ssh -p N",
			missing: needCommand("parallel-ssh", "pssh"),
			open:    openPSSH(cmd, os.DevNull),
		},
		{
			id: "fabric", label: "Fabric ThreadingGroup",
			missing: needFabric,
			open:    openFabric(cmd),
		},
		{
			id: "ssh", label: "OpenSSH loop, default kex",
			missing: needCommand("ssh", "openssh-client"),
			open:    openSSHLoop(cmd, os.DevNull),
		},
		{
			id: "ssh-curve25519", label: "OpenSSH loop, curve25519",
			missing: needCommand("ssh", "openssh-client"),
			open:    openSSHLoop(cmd, os.DevNull, "-o", kexCurve25519),
		},
		{
			id: "ssh-controlmaster", label: "OpenSSH, warm ControlMaster",
			missing: needCommand("ssh", "openssh-client"),
			open:    openControlMaster(cmd),
		},
		{
			id: "xssh-dial", label: "x/crypto/ssh: dial only (cold)",
			open: openXSSHDial,
		},
		{
			id: "xssh-cold", label: "x/crypto/ssh: dial + command (cold)",
			open: openXSSHCold(cmd, false),
		},
		{
			id: "xssh-warm", label: "x/crypto/ssh: command on open conns",
			open: openXSSHWarm(cmd),
		},
	}
	return append(peers, opsuiUnamePeers()...)
}

// uploadPeers are the rows of the upload table.
func uploadPeers() []peer {
	cmd := "cat > " + uploadName
	peers := []peer{
		{
			id: "pssh", label: "parallel-ssh -I < file",
			missing: needCommand("parallel-ssh", "pssh"),
			open:    openPSSH(cmd, ""), // "" = the artifact
		},
		{
			id: "ssh", label: "OpenSSH loop < file, default kex",
			missing: needCommand("ssh", "openssh-client"),
			open:    openSSHLoop(cmd, ""),
		},
		{
			id: "xssh-cold", label: "x/crypto/ssh: dial + stdin (cold)",
			open: openXSSHCold(cmd, true),
		},
	}
	return append(peers, opsuiUploadPeers()...)
}

// unameTargets are the performance targets for `uname -n`, each
// followed by the same ratio for the bare x/crypto/ssh loop: how close to the
// target the floor of a Go engine is on this machine.
func unameTargets(res results, sizes []int) [][]string {
	fastest := []string{"fastest cold CLI peer"}
	cold := []string{"opsui cold ÷ fastest cold CLI peer (≤ 0.8)"}
	coldX := []string{"  reference: x/crypto dial + command ÷ fastest cold CLI peer"}
	warmX := []string{"opsui warm ÷ x/crypto warm (≤ 1.2)"}
	warmCM := []string{"warm ControlMaster ÷ opsui warm (≥ 3)"}
	warmCMX := []string{"  reference: warm ControlMaster ÷ x/crypto warm"}
	coldPool := []string{"  breakdown: opsui Pool + Session (no Run) ÷ fastest cold CLI peer"}
	warmPool := []string{"  breakdown: opsui Session on warm Pool (no Run) ÷ x/crypto warm"}
	for _, n := range sizes {
		best, bestD := "", time.Duration(0)
		for _, id := range []string{"pssh", "fabric", "ssh", "ssh-curve25519"} {
			if d, ok := res.median(id, n); ok && (best == "" || d < bestD) {
				best, bestD = id, d
			}
		}
		fastest = append(fastest, best)
		cold = append(cold, ratio(res, "opsui-cold", best, n, 0.8, true))
		coldX = append(coldX, ratio(res, "xssh-cold", best, n, 0.8, true))
		warmX = append(warmX, ratio(res, "opsui-warm", "xssh-warm", n, 1.2, true))
		warmCM = append(warmCM, ratio(res, "ssh-controlmaster", "opsui-warm", n, 3, false))
		warmCMX = append(warmCMX, ratio(res, "ssh-controlmaster", "xssh-warm", n, 3, false))
		coldPool = append(coldPool, ratio(res, "opsui-pool-cold", best, n, 0.8, true))
		warmPool = append(warmPool, ratio(res, "opsui-pool-warm", "xssh-warm", n, 1.2, true))
	}
	return [][]string{fastest, cold, coldX, coldPool, warmX, warmPool, warmCM, warmCMX}
}

// uploadTargets is the performance target for uploads.
func uploadTargets(res results, sizes []int) [][]string {
	row := []string{"opsui upload ÷ parallel-ssh (≤ 1.0)"}
	ref := []string{"  reference: x/crypto dial + stdin ÷ parallel-ssh"}
	for _, n := range sizes {
		row = append(row, ratio(res, "opsui-upload", "pssh", n, 1.0, true))
		ref = append(ref, ratio(res, "xssh-cold", "pssh", n, 1.0, true))
	}
	return [][]string{row, ref}
}

// needCommand reports a missing executable and the Debian package that has
// it.
func needCommand(name, pkg string) func() string {
	return func() string {
		if _, err := exec.LookPath(name); err != nil {
			return fmt.Sprintf("%s not installed (Debian package %s)", name, pkg)
		}
		return ""
	}
}

func needFabric() string {
	if _, err := os.Stat(pythonForFabric); err != nil {
		return pythonForFabric + " not installed (Debian package python3)"
	}
	if err := exec.Command(pythonForFabric, "-c", "import fabric").Run(); err != nil {
		return "Fabric not importable by " + pythonForFabric + " (Debian package python3-fabric)"
	}
	return ""
}

// names returns the hosts' names, as the fleet's ssh_config knows them.
func names(hosts []*sshtest.Host) []string {
	out := make([]string, len(hosts))
	for i, h := range hosts {
		out[i] = h.Name
	}
	return out
}

// input resolves a peer's stdin: "" is the upload artifact.
func (e *env) input(stdin string) string {
	if stdin == "" {
		return e.upload
	}
	return stdin
}

// runTimed runs a command in its own process group, with stdin from the
// file stdin, and returns its wall time and stdout. Cancelling ctx kills the
// whole group (pssh's and the loop's ssh children with it).
func runTimed(ctx context.Context, stdin, name string, args ...string) (time.Duration, []byte, error) {
	in, err := os.Open(stdin)
	if err != nil {
		return 0, nil, err
	}
	defer in.Close()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = in, &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	d := time.Since(start)
	if err != nil {
		msg := stderr.String()
		if strings.TrimSpace(msg) == "" {
			msg = stdout.String() // pssh reports its failures there
		}
		return d, stdout.Bytes(), fmt.Errorf("%s: %w: %s", name, err, tail(msg, 1500))
	}
	return d, stdout.Bytes(), nil
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

// readOutputs reads the per-host stdout files of pssh (-o DIR) and of the
// OpenSSH loop: DIR/NAME.
func readOutputs(dir string, hosts []*sshtest.Host) map[string]string {
	answers := make(map[string]string, len(hosts))
	for _, h := range hosts {
		if data, err := os.ReadFile(filepath.Join(dir, h.Name)); err == nil {
			answers[h.Name] = strings.TrimSpace(string(data))
		}
	}
	return answers
}

// openPSSH runs remote on every host with parallel-ssh, with as many
// parallel ssh processes as hosts:
//
//	parallel-ssh -h HOSTS -p N -o OUTDIR -x "-F ssh_config" -I? REMOTE < stdin
//
// -I (send stdin to every host) is given when stdin is the artifact.
func openPSSH(remote, stdin string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		hostsFile := filepath.Join(e.dir, fmt.Sprintf("hosts-%d", len(hosts)))
		if err := os.WriteFile(hostsFile, []byte(strings.Join(names(hosts), "\n")+"\n"), 0o644); err != nil {
			return nil, nil, err
		}
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			out, err := os.MkdirTemp(e.dir, "pssh-")
			if err != nil {
				return 0, nil, err
			}
			defer os.RemoveAll(out)
			args := []string{"-h", hostsFile, "-p", strconv.Itoa(len(hosts)), "-o", out,
				"-x", "-F " + shlexQuote(e.fleet.SSHConfigPath)}
			if stdin == "" {
				args = append(args, "-I")
			}
			args = append(args, remote)
			d, _, err := runTimed(ctx, e.input(stdin), "parallel-ssh", args...)
			return d, readOutputs(out, hosts), err
		}
		return r, func() error { return nil }, nil
	}
}

// openFabric runs remote on every host with Fabric's ThreadingGroup
// (testdata/fabric_group.py under Debian's python3).
func openFabric(remote string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			args := append([]string{e.fabricPy, e.fleet.SSHConfigPath, e.fleet.KnownHostsPath, e.fleet.ClientKeyPath, remote}, names(hosts)...)
			d, stdout, err := runTimed(ctx, os.DevNull, pythonForFabric, args...)
			answers := make(map[string]string, len(hosts))
			sc := bufio.NewScanner(bytes.NewReader(stdout))
			for sc.Scan() {
				if name, answer, ok := strings.Cut(sc.Text(), "\t"); ok {
					answers[name] = answer
				}
			}
			return d, answers, err
		}
		return r, func() error { return nil }, nil
	}
}

// openSSHLoop runs remote on every host with testdata/ssh_loop.sh: one
// `ssh -F ssh_config [opts] HOST REMOTE < stdin &` per host, then wait.
func openSSHLoop(remote, stdin string, opts ...string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		return loopRound(e, hosts, remote, stdin, append([]string{"-F", e.fleet.SSHConfigPath}, opts...)), func() error { return nil }, nil
	}
}

func loopRound(e *env, hosts []*sshtest.Host, remote, stdin string, sshArgs []string) round {
	return func(ctx context.Context) (time.Duration, map[string]string, error) {
		out, err := os.MkdirTemp(e.dir, "loop-")
		if err != nil {
			return 0, nil, err
		}
		defer os.RemoveAll(out)
		args := append([]string{e.loopScript, out, e.input(stdin), remote}, sshArgs...)
		args = append(append(args, "--"), names(hosts)...)
		d, _, err := runTimed(ctx, os.DevNull, "bash", args...)
		if err != nil {
			err = fmt.Errorf("%w; first host errors: %s", err, loopErrors(out, hosts))
		}
		return d, readOutputs(out, hosts), err
	}
}

// loopErrors collects the first few non-empty HOST.err files of a loop.
func loopErrors(dir string, hosts []*sshtest.Host) string {
	var msgs []string
	for _, h := range hosts {
		data, _ := os.ReadFile(filepath.Join(dir, h.Name+".err"))
		if s := strings.TrimSpace(string(data)); s != "" {
			msgs = append(msgs, h.Name+": "+tail(s, 200))
			if len(msgs) == 3 {
				break
			}
		}
	}
	return strings.Join(msgs, "; ")
}

// openControlMaster opens one ControlMaster per host, untimed:
//
//	ssh -F ssh_config -o ControlMaster=yes -o ControlPath=DIR/%n -o ControlPersist=yes -f -N HOST
//
// and times the OpenSSH loop through them:
//
//	ssh -F ssh_config -o ControlMaster=no -o ControlPath=DIR/%n HOST uname -n &
//
// A client whose master is gone silently makes a new connection, so close
// checks (`ssh -O check`) that every master outlived the rounds.
func openControlMaster(remote string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(ctx context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		// Unix socket paths are short: not under the test's long TempDir.
		dir, err := os.MkdirTemp("", "pbcm")
		if err != nil {
			return nil, nil, err
		}
		path := "ControlPath=" + filepath.Join(dir, "%n")
		control := func(ctx context.Context, h *sshtest.Host, args ...string) error {
			logFile, err := os.Create(filepath.Join(dir, h.Name+".log"))
			if err != nil {
				return err
			}
			defer logFile.Close()
			args = append(append([]string{"-F", e.fleet.SSHConfigPath, "-o", path}, args...), h.Name)
			cmd := exec.CommandContext(ctx, "ssh", args...)
			// No pipes: the master that -f leaves in the background would
			// hold them open and Wait would wait for it.
			cmd.Stdout, cmd.Stderr = logFile, logFile
			if err := cmd.Run(); err != nil {
				data, _ := os.ReadFile(logFile.Name())
				return fmt.Errorf("%s: ssh %s: %w: %s", h.Name, strings.Join(args, " "), err, tail(string(data), 300))
			}
			return nil
		}
		all := func(ctx context.Context, args ...string) error {
			errs := make([]error, len(hosts))
			var wg sync.WaitGroup
			for i, h := range hosts {
				wg.Go(func() { errs[i] = control(ctx, h, args...) })
			}
			wg.Wait()
			return errors.Join(errs...)
		}
		closeAll := func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			checkErr := all(ctx, "-O", "check")
			all(ctx, "-O", "exit")
			os.RemoveAll(dir)
			if checkErr != nil {
				return fmt.Errorf("a ControlMaster died during the rounds: %w", checkErr)
			}
			return nil
		}
		if err := all(ctx, "-o", "ControlMaster=yes", "-o", "ControlPersist=yes", "-f", "-N"); err != nil {
			closeAll()
			return nil, nil, err
		}
		return loopRound(e, hosts, remote, os.DevNull, []string{"-F", e.fleet.SSHConfigPath, "-o", "ControlMaster=no", "-o", path}), closeAll, nil
	}
}

// dialAll dials every host at once with x/crypto/ssh (TCP, handshake with
// the known_hosts check, public key auth).
func dialAll(e *env, hosts []*sshtest.Host) ([]*ssh.Client, error) {
	clients := make([]*ssh.Client, len(hosts))
	errs := make([]error, len(hosts))
	var wg sync.WaitGroup
	for i, h := range hosts {
		wg.Go(func() {
			c, err := ssh.Dial("tcp", h.Address(), e.config)
			if err != nil {
				errs[i] = fmt.Errorf("%s: %w", h.Name, err)
				return
			}
			clients[i] = c
		})
	}
	wg.Wait()
	return clients, errors.Join(errs...)
}

func closeAll(clients []*ssh.Client) {
	for _, c := range clients {
		if c != nil {
			c.Close()
		}
	}
}

// openXSSHDial times dialing every host at once: TCP connect, key exchange,
// host key check against the fleet's known_hosts, authentication. A host's
// answer is its name once its client is authenticated: each host has its
// own host key, so the known_hosts check proves which host answered.
func openXSSHDial(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
	r := func(ctx context.Context) (time.Duration, map[string]string, error) {
		start := time.Now()
		clients, err := dialAll(e, hosts)
		d := time.Since(start)
		defer closeAll(clients)
		answers := make(map[string]string, len(hosts))
		for i, c := range clients {
			if c != nil {
				answers[hosts[i].Name] = hosts[i].Name
			}
		}
		return d, answers, err
	}
	return r, func() error { return nil }, nil
}

// session runs remote in a new session of c, with stdin from the file
// stdin ("" for none), and returns its trimmed stdout.
func session(c *ssh.Client, remote, stdin string) (string, error) {
	s, err := c.NewSession()
	if err != nil {
		return "", err
	}
	defer s.Close()
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			return "", err
		}
		defer f.Close()
		s.Stdin = f
	}
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if err := s.Run(remote); err != nil {
		return "", fmt.Errorf("%w: %s", err, tail(stderr.String(), 200))
	}
	return strings.TrimSpace(stdout.String()), nil
}

// openXSSHCold times, on every host at once, a dial then one session
// running remote, with the artifact as its stdin when upload is set.
func openXSSHCold(remote string, upload bool) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		input := ""
		if upload {
			input = e.upload
		}
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			answers := make([]string, len(hosts))
			errs := make([]error, len(hosts))
			start := time.Now()
			var wg sync.WaitGroup
			for i, h := range hosts {
				wg.Go(func() {
					c, err := ssh.Dial("tcp", h.Address(), e.config)
					if err != nil {
						errs[i] = fmt.Errorf("%s: %w", h.Name, err)
						return
					}
					defer c.Close()
					answers[i], errs[i] = session(c, remote, input)
					if errs[i] != nil {
						errs[i] = fmt.Errorf("%s: %w", h.Name, errs[i])
					}
				})
			}
			wg.Wait()
			return time.Since(start), collect(hosts, answers, errs), errors.Join(errs...)
		}
		return r, func() error { return nil }, nil
	}
}

// openXSSHWarm opens a connection per host, untimed, then times one
// session running remote on each of them at once.
func openXSSHWarm(remote string) func(context.Context, *env, []*sshtest.Host) (round, func() error, error) {
	return func(_ context.Context, e *env, hosts []*sshtest.Host) (round, func() error, error) {
		clients, err := dialAll(e, hosts)
		if err != nil {
			closeAll(clients)
			return nil, nil, err
		}
		r := func(ctx context.Context) (time.Duration, map[string]string, error) {
			answers := make([]string, len(hosts))
			errs := make([]error, len(hosts))
			start := time.Now()
			var wg sync.WaitGroup
			for i, c := range clients {
				wg.Go(func() {
					answers[i], errs[i] = session(c, remote, "")
					if errs[i] != nil {
						errs[i] = fmt.Errorf("%s: %w", hosts[i].Name, errs[i])
					}
				})
			}
			wg.Wait()
			return time.Since(start), collect(hosts, answers, errs), errors.Join(errs...)
		}
		return r, func() error { closeAll(clients); return nil }, nil
	}
}

// collect maps the answers of the hosts that succeeded by host name.
func collect(hosts []*sshtest.Host, answers []string, errs []error) map[string]string {
	out := make(map[string]string, len(hosts))
	for i, h := range hosts {
		if errs[i] == nil {
			out[h.Name] = answers[i]
		}
	}
	return out
}

// shlexQuote quotes s as one word for Python's shlex, which splits pssh's
// -x argument (the same single-quote rule as a POSIX shell).
func shlexQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}
