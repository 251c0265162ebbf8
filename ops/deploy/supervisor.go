package deploy

import (
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// supervisorReloadScript reloads the web role's supervisord program
// (OPSUI_PROGRAM, with supervisorctl's configuration
// OPSUI_SUPERVISOR_CONF, through sudo -n when OPSUI_PM_SUDO is set),
// by the program's state: a RUNNING one gets HUP, so the gunicorn master
// (its --chdir is the current symlink's path) starts new workers in the
// release current points at; one that is not running (the first deploy, or
// one supervisord gave up on) is started; one supervisord is (re)starting
// by itself is waited for first, as it may have been spawned before the
// switch and be about to die in a release that did not exist yet (a HUP
// sent to it then is lost). The commands are inventory.SupervisorCommands,
// the ones the sudoers lines allow.
const supervisorReloadScript = `set -- ` + inventory.Supervisorctl + ` -c "$OPSUI_SUPERVISOR_CONF"
[ -z "$OPSUI_PM_SUDO" ] || set -- sudo "$@"
n=0
while :; do
  n=$((n+1))
  st=$("$@" status "$OPSUI_PROGRAM" 2>&1)
  case $st in
  *RUNNING*)
    if out=$("$@" signal HUP "$OPSUI_PROGRAM" 2>&1); then
      echo "supervisord: $OPSUI_PROGRAM reloaded (HUP): $out"; exit 0
    fi ;;
  *STARTING*|*BACKOFF*|*STOPPING*) ;; # supervisord is at it: wait for where it lands
  *STOPPED*|*EXITED*|*FATAL*)
    out=$("$@" start "$OPSUI_PROGRAM" 2>&1)
    case $out in
    *"already started"*) ;;
    *ERROR*) echo "supervisord could not start $OPSUI_PROGRAM: $out (its output is in $SHARED_DIR/logs/$OPSUI_PROGRAM.log)" >&2; exit 1 ;;
    *) echo "supervisord: $OPSUI_PROGRAM started: $out"; exit 0 ;;
    esac ;;
  *) echo "supervisord: $OPSUI_PROGRAM: $st" >&2; exit 1 ;;
  esac
  [ "$n" -lt 30 ] || { echo "supervisord: $OPSUI_PROGRAM neither runs nor starts: $st" >&2; exit 1; }
  sleep 1
done`

// SupervisorProgram renders the supervisord program section that runs
// app's gunicorn on host h as user: the master's working directory is the
// current symlink's path (--chdir; supervisord's directory= would resolve
// it, and a master started in a resolved release serves it forever), it
// starts from deploy_to (never pruned), does not daemonize, and is
// restarted by supervisord when it dies, into whatever current is then.
// Every value is quoted for supervisord's command line (shlex) and its
// %-expansion.
func SupervisorProgram(f *inventory.Fleet, app inventory.App, h inventory.Host, user string) (string, error) {
	g, err := newManagedMaster(f, app, h, inventory.ProcessSupervisord)
	if err != nil {
		return "", err
	}
	program, _ := inventory.SupervisorProgram(app.Name, f.SettingsFor(h, "web"))
	args := slices.Clone(g.args)
	for i, a := range args {
		args[i] = remote.Quote(a)
	}
	esc := func(s string) string { return strings.ReplaceAll(s, "%", "%%") }
	var b strings.Builder
	fmt.Fprintf(&b, "; Rendered by opsui for app %s on host %s. The master's working directory is\n", app.Name, h.Name)
	b.WriteString("; current's path (--chdir), so a HUP, and a restart after a crash, load the\n; release current points at. bind and workers are in shared/opsui_server.conf.py,\n; which each deploy writes from the fleet before it reloads.\n")
	fmt.Fprintf(&b, "[program:%s]\n", program)
	fmt.Fprintf(&b, "command=%s\n", esc(strings.Join(args, " ")))
	fmt.Fprintf(&b, "directory=%s\n", esc(g.deployTo))
	if user != "" {
		fmt.Fprintf(&b, "user=%s\n", esc(user))
	}
	b.WriteString("autostart=true\nautorestart=true\nstartsecs=2\nstartretries=3\n")
	b.WriteString("stopsignal=TERM\nstopwaitsecs=30\nstopasgroup=true\nkillasgroup=true\n")
	fmt.Fprintf(&b, "redirect_stderr=true\nstdout_logfile=%s\n", esc(g.shared+"/logs/"+program+".log"))
	return b.String(), nil
}

// managedMaster is the gunicorn master a process manager runs for app on
// host h: its command line (not quoted), from deploy_to.
type managedMaster struct {
	args             []string
	deployTo, shared string
}

func newManagedMaster(f *inventory.Fleet, app inventory.App, h inventory.Host, process string) (managedMaster, error) {
	set := f.SettingsFor(h, "web")
	if set.Process != process {
		return managedMaster{}, fmt.Errorf("host %s: the web role's process is %q, not %s", h.Name, set.Process, process)
	}
	wsgi := set.Options["wsgi"]
	if wsgi == "" {
		return managedMaster{}, fmt.Errorf("host %s: process: %s needs the web role's options.wsgi", h.Name, process)
	}
	deployTo := app.DeployToOn(h)
	deployTo = strings.TrimRight(deployTo, "/")
	cur, shared := deployTo+"/current", deployTo+"/shared"
	// bind and workers come from shared/opsui_server.conf.py, which every
	// deploy writes from the web role's options (after the app's own
	// gunicorn.conf.py, and shared/.env when the app declares an
	// environment) and gunicorn reads again on every HUP: a changed worker
	// count applies at the next deploy's reload, without installing the
	// program or unit again. The manager's own environment settings would
	// put secrets in its configuration, and never change on a reload.
	args := []string{cur + "/venv/bin/python", "-m", "gunicorn", "-c", shared + "/" + serverConfName, "--chdir", cur,
		"--error-logfile", shared + "/logs/gunicorn.log", wsgi}
	return managedMaster{args: args, deployTo: deployTo, shared: shared}, nil
}
