package remote

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// remoteCommand returns the command line that runs cmd on the host tied to
// its session. OpenSSH runs a command without a pty in a new session whose
// process group leader is the login shell; without a pty, closing the
// channel kills nothing, and "signal" requests are refused for root and
// reach only that group otherwise. So the line, run by the login shell
// (POSIX sh, dash and bash alike) or by o.Shell, starts a watchdog in the
// group, with TERM and HUP ignored, that reads the channel's stdin, which
// the client never closes. sshd closes it when the channel closes or the
// connection dies, and also once the command has exited. On that end of
// file the watchdog sends SIGTERM to the whole group, waits KillGrace and
// sends SIGKILL, unless the command ended by itself: then it leaves alone
// what the command started in the background on purpose.
//
// Without input, cmd follows on the next line as it is, so the shell
// parses and runs it exactly as it would without the wrapper (bash even
// execs a last simple command in place): the exit status, signals and
// stdout/stderr are the command's own; its stdin is /dev/null. The
// watchdog tells a normal end by the shell being gone: sshd reaps it
// before it closes stdin.
//
// With input, the first pipeline stage feeds the command the first
// in.Size bytes of stdin (head -c reads no further) and checks the
// end-of-input mark, then starts the watchdog in the background, as
// without input, and ends: the command (eval of cmd as one quoted word, in
// a subshell) sees the end of its input, and the shell exits with its
// status once the command is done. Nothing signals the watchdog: a shell
// blocked in read may miss a trapped signal that comes just before the
// read starts (bash checks for traps, then calls read(2)), and a watchdog
// that the pipeline waits for would then hang the session until the
// channel closes, which the client only does when the run times out.
func remoteCommand(cmd string, o *RunOptions, in *Input) string {
	grace := o.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	secs := max(1, int64((grace+time.Second-1)/time.Second)) // POSIX sleep takes whole seconds
	kill := fmt.Sprintf(`kill -TERM 0; sleep %d; kill -KILL 0`, secs)
	watch := `trap '' HUP TERM; while read -r _opsui_l; do :; done; `

	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		fmt.Fprintf(&b, "%s=%s; export %s; ", k, Quote(o.Env[k]), k)
	}
	if in == nil {
		// In the watchdog, $$ is still the shell's pid.
		fmt.Fprintf(&b, "exec 3<&0; { %skill -0 $$ 2>/dev/null || exit 0; %s; } <&3 >/dev/null 2>&1 & "+
			"exec 3<&- </dev/null\n%s", watch, kill, cmd)
	} else {
		// The client follows the input with a newline: if the channel
		// ends before it, the input was cut short and the group is killed
		// while this stage still holds the pipe open, before the command
		// could take the end of its input for a complete one. When head
		// fails, the command closed its input (it may have exited): there
		// is no end of input to fake, and no mark to wait for. The
		// watchdog reads the rest of stdin (fd 3: an asynchronous list's
		// stdin is /dev/null); in it, $$ is still the shell's pid.
		fmt.Fprintf(&b, `{ exec 3<&0; if head -c %d; then read -r _opsui_m || { trap '' HUP TERM; %s; }; fi; `+
			`{ %skill -0 $$ 2>/dev/null || exit 0; %s; } <&3 >/dev/null 2>&1 3<&- & } | ( eval %s )`,
			in.Size, kill, watch, kill, Quote(cmd))
	}
	if o.Shell != "" {
		return "exec " + QuoteAll(o.Shell, "-c", b.String())
	}
	return b.String()
}

// isShellName reports whether s can name a shell variable.
func isShellName(s string) bool {
	for i, r := range s {
		if r != '_' && !(r >= 'a' && r <= 'z') && !(r >= 'A' && r <= 'Z') && (i == 0 || !(r >= '0' && r <= '9')) {
			return false
		}
	}
	return s != ""
}

// Result is the outcome of a run.
type Result struct {
	Hosts     []HostResult       // in the order of the targets
	Classes   map[ErrorClass]int // hosts that did not succeed, per class
	OK        int
	Failed    int // timeouts and non-zero exits included, cancellations not
	Cancelled int
	Duration  time.Duration
}
