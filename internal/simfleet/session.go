package simfleet

import (
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"
)

// Release is the release every simulated host has current, as a deploy id.
const Release = "20260101120000"

// Commit is the full commit hash a host's REVISION holds.
func Commit(host string) string {
	sum := sha1.Sum([]byte("simfleet " + host))
	return hex.EncodeToString(sum[:])
}

// session serves one session channel: env requests, then one exec answered
// from canned output.
func (h *Host) session(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer ch.Close()
	env := map[string]string{}
	for r := range reqs {
		switch r.Type {
		case "env":
			var kv struct{ Name, Value string }
			ok := ssh.Unmarshal(r.Payload, &kv) == nil
			if ok {
				env[kv.Name] = kv.Value
			}
			reply(r, ok)
		case "exec":
			var ex struct{ Command string }
			if ssh.Unmarshal(r.Payload, &ex) != nil {
				reply(r, false)
				continue
			}
			reply(r, true)
			go func() { // the requests must keep being read (the client's close)
				h.exec(ch, ex.Command, env)
				_ = ch.CloseWrite()
				_ = ch.Close()
			}()
		default: // shell, pty-req, subsystem: not on a simulated host
			reply(r, false)
		}
	}
}

func reply(r *ssh.Request, ok bool) {
	if r.WantReply {
		_ = r.Reply(ok, nil)
	}
}

func exit(ch ssh.Channel, code int) {
	_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{uint32(code)}))
}

// exec answers line. What it recognises, after taking off remote.Run's
// wrapper (unwrap):
//
//   - the status probe (ops/remote/probe.go): any command holding the
//     section mark "@@opsui-probe "; every section it asks for is answered
//     in its order;
//   - the deploy lock scripts (ops/deploy/lock.go): commands naming
//     "/.opsui-lock", told apart by their distinctive lines (take: `mkdir
//     -- "$d"`; renew: "opsui-lock=renewed"; release: "echo released" with
//     $OPSUI_TOKEN; break: "not a lock without an owner"; show: the rest),
//     against a lock table per host and DEPLOY_TO;
//   - log follows (ops/logs/script.go): a command with "tail -F" and the
//     "@@opsui-<nonce> " marker, answered with the marker and then one line
//     every Config.LogInterval until the client closes the session;
//   - `uname -n` and `hostname` (the host's name), `true` and `:`, `false`.
//
// Anything else fails with exit status 127 and says so on stderr.
func (h *Host) exec(ch ssh.Channel, line string, sessEnv map[string]string) {
	h.Commands.Add(1)
	cmd, env := unwrap(line)
	for k, v := range sessEnv {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	if d := h.fleet.cfg.Latency; d > 0 {
		select {
		case <-time.After(d):
		case <-h.fleet.ctx.Done():
			return
		}
	}
	trimmed := strings.TrimSpace(cmd)
	switch {
	case strings.Contains(cmd, "@@opsui-probe "):
		_, _ = io.WriteString(ch, h.probe(cmd))
		exit(ch, 0)
	case strings.Contains(cmd, "/.opsui-lock"):
		out, code := h.locks.script(cmd, env)
		_, _ = io.WriteString(ch, out)
		exit(ch, code)
	case strings.Contains(cmd, "tail -F") && strings.Contains(cmd, "@@opsui-"):
		h.follow(ch, cmd)
	case trimmed == "uname -n" || trimmed == "hostname":
		_, _ = io.WriteString(ch, h.Name+"\n")
		exit(ch, 0)
	case trimmed == "true" || trimmed == ":":
		exit(ch, 0)
	case trimmed == "false":
		exit(ch, 1)
	default:
		fmt.Fprintf(ch.Stderr(), "simfleet: %s: command not simulated: %.80q\n", h.Name, trimmed)
		exit(ch, 127)
	}
}

// runWrapperEnd ends the line remote.Run puts before every command run
// without input (remote.remoteCommand): its watchdog, started in the
// background, then stdin set back to /dev/null.
const runWrapperEnd = "exec 3<&- </dev/null\n"

// envExport is one variable remote.Run exports before its wrapper:
// NAME=VALUE; export NAME; with VALUE as remote.Quote writes it.
var envExport = regexp.MustCompile(`^([A-Za-z_][A-Za-z0-9_]*)=('(?:[^']|'\\'')*'|[^;' ]*); export ([A-Za-z_][A-Za-z0-9_]*); `)

// unwrap returns the command remote.Run was asked to run and the variables
// it exports; a line without the wrapper is returned as it is.
func unwrap(line string) (string, map[string]string) {
	env := map[string]string{}
	rest := line
	for {
		m := envExport.FindStringSubmatch(rest)
		if m == nil || m[1] != m[3] {
			break
		}
		env[m[1]] = unquote(m[2])
		rest = rest[len(m[0]):]
	}
	if _, cmd, ok := strings.Cut(rest, runWrapperEnd); ok && strings.Contains(rest, "_opsui_l") {
		return cmd, env
	}
	return line, env
}

// unquote reads a word written by remote.Quote.
func unquote(s string) string {
	if len(s) >= 2 && s[0] == '\'' && s[len(s)-1] == '\'' {
		return strings.ReplaceAll(s[1:len(s)-1], `'\''`, "'")
	}
	return s
}

// probeSection finds the sections the probe script asks for, in order.
var probeSection = regexp.MustCompile(`echo '@@opsui-probe ([a-z][a-z-]*)'`)

// probe answers the status probe with this host's canned figures.
func (h *Host) probe(cmd string) string {
	var b strings.Builder
	now := time.Now().Unix()
	i := h.index
	for _, m := range probeSection.FindAllStringSubmatch(cmd, -1) {
		name := m[1]
		b.WriteString("@@opsui-probe " + name + "\n")
		switch name {
		case "load":
			fmt.Fprintf(&b, "%.2f %.2f %.2f 1/150 %d\n", float64(i%20)*0.05, 0.3, 0.2, 1000+i)
		case "mem":
			fmt.Fprintf(&b, "MemTotal:        4000000 kB\nMemAvailable:    %d kB\n", 1000000+(i%30)*50000)
		case "disk":
			fmt.Fprintf(&b, "/dev/sim 100000000 %d %d %d%% /\n", 40000000+i%40*1000000, 60000000-i%40*1000000, 40+i%40)
		case "now":
			fmt.Fprintf(&b, "%d\n", now)
		case "release":
			b.WriteString("releases/" + Release + "\n")
		case "revision":
			b.WriteString(Commit(h.Name) + "\n")
		case "mtime":
			fmt.Fprintf(&b, "%d\n", now-3600)
		case "health":
			b.WriteString("curl: HTTP 200\n@@opsui-probe health-rc 0\n")
		}
	}
	return b.String()
}

// followMarker finds a log follow's nonce and the kind of its script.
var followMarker = regexp.MustCompile(`printf '@@opsui-([0-9a-f]+) %s %s (0 start|%s %s)`)

// follow answers a log follow: the start (or resume) marker, then a line
// every LogInterval until the session is closed or the fleet stops.
func (h *Host) follow(ch ssh.Channel, cmd string) {
	m := followMarker.FindStringSubmatch(cmd)
	if m == nil {
		fmt.Fprintf(ch.Stderr(), "simfleet: %s: log follow without a marker\n", h.Name)
		exit(ch, 127)
		return
	}
	nonce := m[1]
	if m[2] == "0 start" {
		fmt.Fprintf(ch, "@@opsui-%s sim:%d 0 0 start\n@@opsui-%s - - 0 backlog-end\n", nonce, h.index, nonce)
	} else {
		fmt.Fprintf(ch, "@@opsui-%s sim:%d 0 0 unknown\n", nonce, h.index)
	}
	closed := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, ch); close(closed) }() // EOF or the channel's close
	t := time.NewTicker(h.fleet.cfg.LogInterval)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-closed:
			return
		case <-h.fleet.ctx.Done():
			return
		case at := <-t.C:
			if _, err := fmt.Fprintf(ch, "%s INFO %s request %d handled in 12ms\n", at.UTC().Format(time.RFC3339), h.Name, n); err != nil {
				return
			}
		}
	}
}

// lockTable is a host's deploy locks by DEPLOY_TO: the owner file's text.
type lockTable struct {
	mu     sync.Mutex
	owners map[string]string
}

// script runs one of the lock scripts against the table.
func (l *lockTable) script(cmd string, env map[string]string) (string, int) {
	dir := env["DEPLOY_TO"]
	if dir == "" {
		return "simfleet: lock script without DEPLOY_TO\n", 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.owners == nil {
		l.owners = map[string]string{}
	}
	owner, held := l.owners[dir]
	mine := held && hasLine(owner, "token="+env["OPSUI_TOKEN"])
	show := func() string {
		if !held {
			return "opsui-lock=free\n"
		}
		now := time.Now().Unix()
		return fmt.Sprintf("opsui-lock=held\n%s\nheartbeat=%d\ndirtime=%d\nnow=%d\n", strings.TrimRight(owner, "\n"), now, now, now)
	}
	switch {
	case strings.Contains(cmd, `mkdir -- "$d"`):
		if held {
			return show(), 0
		}
		l.owners[dir] = env["OPSUI_OWNER"]
		return "opsui-lock=taken\n", 0
	case strings.Contains(cmd, "opsui-lock=renewed"):
		if mine {
			return "opsui-lock=renewed\n", 0
		}
		return show(), 0
	case strings.Contains(cmd, "not a lock without an owner"):
		if held && !strings.Contains(owner, "token=") {
			delete(l.owners, dir)
			return "released\n", 0
		}
		return "not a lock without an owner\n", 0
	case strings.Contains(cmd, "echo released"):
		if mine {
			delete(l.owners, dir)
			return "released\n", 0
		}
		return "not held by this deploy\n", 0
	}
	return show(), 0
}

func hasLine(text, line string) bool {
	for l := range strings.SplitSeq(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}
