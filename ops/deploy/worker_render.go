package deploy

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// workerLaunch is the shell program that starts one worker process in
// its working directory, the release current pointed at when it started:
// the app's shared/.env loaded (read by the worker's own shell, so the
// secrets are in no manager's configuration nor any process's arguments),
// that release's virtualenv first on PATH (by its resolved path, so
// nothing the worker imports later comes from a newer release), and the
// command exec'd, so the process the manager stops is the worker itself.
// HOME is the worker user's own: supervisord's user= changes the user and
// leaves the environment, root's HOME included.
func workerLaunch(deployTo, command string) string {
	env := remote.Quote(strings.TrimRight(deployTo, "/") + "/" + envFileName)
	return `h=$(getent passwd "$(id -u)" | cut -d: -f6); [ -z "$h" ] || export HOME="$h"; ` +
		`set -a; [ ! -f ` + env + ` ] || . ` + env + `; set +a; r=$(pwd -P) && VIRTUAL_ENV="$r/venv" PATH="$r/venv/bin:$PATH" && export VIRTUAL_ENV PATH && exec ` + command
}

// workerFor returns the worker host h runs for app under process, or an
// error saying why it has none.
func workerFor(f *inventory.Fleet, app inventory.App, h inventory.Host, process string) (inventory.Worker, error) {
	w, ok := f.WorkerFor(app.Name, h)
	switch {
	case !ok:
		return w, fmt.Errorf("host %s: no worker role with options.command", h.Name)
	case w.Process != process:
		return w, fmt.Errorf("host %s: the worker role's process is %q, not %s", h.Name, w.Process, process)
	}
	if msg := inventory.WorkerCommandProblem(w.Command); msg != "" {
		return w, fmt.Errorf("host %s: worker %s (fix the fleet file and import it again)", h.Name, msg)
	}
	return w, nil
}

// WorkerSupervisorProgram renders the supervisord program section that
// runs app's workers on host h as user: directory= is the current
// symlink's path, which supervisord resolves at every start, so a worker
// started after a deploy, or restarted after a crash, runs the release
// current points at then; TERM to the worker's main process stops it, with
// stop_timeout seconds (stopwaitsecs) to finish its task before SIGKILL to
// the whole process group. TERM goes to the main process only, as
// systemd's KillMode=mixed does: a Celery worker's pool children finish
// their tasks on its warm shutdown, and would drop them if TERM'd
// themselves (WorkerLostError). Values are quoted for
// supervisord's command line (shlex) and escaped for its %-expansion.
func WorkerSupervisorProgram(f *inventory.Fleet, app inventory.App, h inventory.Host, user string) (string, error) {
	w, err := workerFor(f, app, h, inventory.ProcessSupervisord)
	if err != nil {
		return "", err
	}
	deployTo := strings.TrimRight(app.DeployToOn(h), "/")
	esc := func(s string) string { return strings.ReplaceAll(s, "%", "%%") }
	var b strings.Builder
	fmt.Fprintf(&b, "; Rendered by opsui for app %s's workers on host %s. directory= is current's\n", app.Name, h.Name)
	b.WriteString("; path: a worker (re)started loads the release current points at then.\n")
	fmt.Fprintf(&b, "[program:%s]\n", w.Program)
	fmt.Fprintf(&b, "command=/bin/sh -c %s\n", esc(remote.Quote(workerLaunch(deployTo, w.Command))))
	fmt.Fprintf(&b, "directory=%s\n", esc(deployTo+"/current"))
	if user != "" {
		fmt.Fprintf(&b, "user=%s\n", esc(user))
	}
	logfile := esc(deployTo + "/shared/logs/" + w.Program + ".log")
	if w.Processes > 1 {
		fmt.Fprintf(&b, "numprocs=%d\nprocess_name=%%(program_name)s_%%(process_num)02d\n", w.Processes)
		logfile = esc(deployTo+"/shared/logs/"+w.Program) + "_%(process_num)02d.log"
	}
	b.WriteString("autostart=true\nautorestart=true\nstartsecs=2\nstartretries=3\n")
	fmt.Fprintf(&b, "stopsignal=TERM\nstopwaitsecs=%d\nstopasgroup=false\nkillasgroup=true\n", w.StopTimeout)
	fmt.Fprintf(&b, "redirect_stderr=true\nstdout_logfile=%s\n", logfile)
	return b.String(), nil
}

// WorkerSystemdUnit renders the systemd service unit that runs app's
// worker on host h as user: WorkingDirectory= is the current symlink's
// path (resolved at each start, as a worker should be), stop is TERM to
// the worker with stop_timeout seconds (TimeoutStopSec) before SIGKILL to
// what is left of its group. One unit runs one process: processes above
// 1 are refused (the worker's own concurrency, or supervisord, runs more).
func WorkerSystemdUnit(f *inventory.Fleet, app inventory.App, h inventory.Host, user string) (string, error) {
	w, err := workerFor(f, app, h, inventory.ProcessSystemd)
	if err != nil {
		return "", err
	}
	if w.Processes > 1 {
		return "", fmt.Errorf("host %s: process: systemd runs one worker process per unit, not %d: use the worker's own concurrency (e.g. celery --concurrency) or process: supervisord", h.Name, w.Processes)
	}
	deployTo := strings.TrimRight(app.DeployToOn(h), "/")
	esc := strings.NewReplacer("%", "%%", "$", "$$").Replace
	word := func(s string) string { return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"` }
	userLine := ""
	if user != "" {
		userLine = "User=" + esc(user) + "\n"
	}
	return fmt.Sprintf(`# Rendered by opsui for app %s's workers on host %s. WorkingDirectory= is
# current's path: a worker (re)started loads the release current points at then.
[Unit]
Description=%s
After=network.target

[Service]
Type=simple
%sWorkingDirectory=%s
ExecStart=/bin/sh -c %s
KillMode=mixed
KillSignal=SIGTERM
TimeoutStopSec=%d
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
`, app.Name, h.Name, esc("workers of "+app.Name+" (opsui)"), userLine,
		strings.ReplaceAll(deployTo+"/current", "%", "%%"), // specifiers only: WorkingDirectory= expands no variables
		word(esc(workerLaunch(deployTo, w.Command))), w.StopTimeout), nil
}
