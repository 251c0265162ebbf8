package inventory

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// RoleWorker marks a host that runs the app's background workers (Celery,
// RQ, Django-Q or any command): the worker role's options.command, run by
// its process manager and restarted in the new release on every deploy
// and rollback.
const RoleWorker = "worker"

// Worker defaults.
const (
	// DefaultWorkerStopTimeout is how long a worker may take to finish its
	// task after TERM before it is killed, in seconds.
	DefaultWorkerStopTimeout = 30
	maxWorkerStopTimeout     = 3600
	maxWorkerProcesses       = 64
)

// Worker is what a host's worker role runs: one command, in Processes
// processes, under a process manager.
type Worker struct {
	// Command is run in the release (its virtualenv first on PATH, the
	// app's shared/.env loaded): one program and its arguments.
	Command     string
	Processes   int
	StopTimeout int // seconds from TERM to KILL
	// Process is supervisord, systemd or daemon (the default: opsui keeps
	// the processes itself, with pidfiles under shared/pids).
	Process string
	// Program and Conf name the supervisord program (options.program,
	// else APP-worker) and supervisorctl's configuration; Unit the systemd
	// unit (options.unit, else APP-worker.service).
	Program, Conf, Unit string
	// Sudo runs supervisorctl and systemctl with sudo -n.
	Sudo bool
}

// WorkerFor returns the worker host h runs for app, and false when h has
// no worker role or its worker role names no command (its workers are
// then the app's own business, as before opsui managed them).
func (f *Fleet) WorkerFor(app string, h Host) (Worker, bool) {
	if !h.HasRole(RoleWorker) {
		return Worker{}, false
	}
	set := f.SettingsFor(h, RoleWorker)
	w := Worker{Command: strings.TrimSpace(set.Options["command"]), Processes: 1, StopTimeout: DefaultWorkerStopTimeout,
		Process: set.Process, Program: set.Options["program"], Conf: set.Options["supervisor_conf"], Unit: set.Options["unit"], Sudo: set.Sudo}
	if w.Command == "" {
		return Worker{}, false
	}
	if n, err := strconv.Atoi(set.Options["processes"]); err == nil && n > 0 {
		w.Processes = n
	}
	if n, err := strconv.Atoi(set.Options["stop_timeout"]); err == nil && n > 0 {
		w.StopTimeout = n
	}
	if w.Process == "" {
		w.Process = ProcessDaemon
	}
	if w.Program == "" {
		w.Program = app + "-worker"
	}
	if w.Conf == "" {
		w.Conf = DefaultSupervisorConf
	}
	if w.Unit == "" {
		w.Unit = app + "-worker.service"
	}
	return w, true
}

// Group is how supervisorctl names every process of the worker's program
// (its group: one program, Processes processes).
func (w Worker) Group() string { return w.Program + ":*" }

// SudoCommands are the supervisorctl or systemctl command lines a deploy
// runs for the worker: its status, a stop (TERM, then KILL after the stop
// timeout) and a start in the new release. None for a daemon.
func (w Worker) SudoCommands() [][]string {
	switch w.Process {
	case ProcessSupervisord:
		return [][]string{
			{Supervisorctl, "-c", w.Conf, "status", w.Group()},
			{Supervisorctl, "-c", w.Conf, "stop", w.Group()},
			{Supervisorctl, "-c", w.Conf, "start", w.Group()},
		}
	case ProcessSystemd:
		return [][]string{{Systemctl, "stop", w.Unit}, {Systemctl, "start", w.Unit}}
	}
	return nil
}

// WorkerCommandProblem says why cmd cannot be a worker's command, or
// returns "". The command is exec'd by a shell, so that the process the
// manager stops is the worker itself: a list or a pipeline would leave a
// shell there, which dies at TERM while the worker runs on beside its
// successor. $VARIABLES (from shared/.env) and quotes are allowed.
func WorkerCommandProblem(cmd string) string {
	c := strings.TrimSpace(cmd)
	switch {
	case c == "":
		return "command is empty"
	case strings.ContainsFunc(c, unicode.IsControl):
		return fmt.Sprintf("command %q holds a control character (one line, one command)", c)
	case strings.ContainsAny(c, ";&|<>`") || strings.Contains(c, "$("):
		return fmt.Sprintf("command %q is shell syntax, not one command: a worker runs one program with its arguments (e.g. python -m celery -A shop worker); put anything more in a script in the release and name it", c)
	case strings.HasPrefix(c, "exec ") || c == "exec":
		return fmt.Sprintf("command %q: leave out exec (opsui execs the command)", c)
	}
	return ""
}

// workerSettingsProblems checks the worker role's settings on a host as
// they merge: a process manager needs a command to run.
func workerSettingsProblems(h Host, set RoleSettings) []string {
	var out []string
	if set.Process != "" && strings.TrimSpace(set.Options["command"]) == "" {
		out = append(out, fmt.Sprintf("host %q: the worker role says process: %s but has no options.command to run", h.Name, set.Process))
	}
	if n, err := strconv.Atoi(set.Options["processes"]); err == nil && n > 1 && set.Process == ProcessSystemd {
		out = append(out, fmt.Sprintf("host %q: the worker role's process: systemd runs one process per unit, not %d: use the worker's own concurrency (e.g. celery --concurrency) or process: supervisord", h.Name, n))
	}
	return out
}
