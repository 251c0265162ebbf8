package deploy

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// systemdReloadScript reloads the web role's systemd unit (OPSUI_UNIT,
// through sudo -n when OPSUI_PM_SUDO is set): a running unit gets
// `systemctl reload`, whose ExecReload sends HUP to the gunicorn master
// (its --chdir is the current symlink's path, so the new workers load the
// release current points at); a unit that is not running (the first
// deploy, or one systemd gave up on) is started. The commands are
// inventory.SystemdCommands, the ones the sudoers lines allow.
const systemdReloadScript = `set -- ` + inventory.Systemctl + `
[ -z "$OPSUI_PM_SUDO" ] || set -- sudo "$@"
if ` + inventory.Systemctl + ` is-active --quiet "$OPSUI_UNIT"; then
  if out=$("$@" reload "$OPSUI_UNIT" 2>&1); then echo "systemd: $OPSUI_UNIT reloaded (HUP)"; exit 0; fi
  echo "systemd: reload $OPSUI_UNIT: $out" >&2; exit 1
fi
if out=$("$@" start "$OPSUI_UNIT" 2>&1); then echo "systemd: $OPSUI_UNIT started"; exit 0; fi
case $out in
*"not found"*) echo "systemd has no unit $OPSUI_UNIT: install it first (opsui setup --print-systemd prints it)" >&2 ;;
*) echo "systemd could not start $OPSUI_UNIT: $out (see: journalctl -u $OPSUI_UNIT)" >&2 ;;
esac
exit 1`

// SystemdUnit renders the systemd service unit that runs app's gunicorn
// on host h as user. As under supervisord, the master's working directory
// is the current symlink's path through --chdir (systemd's
// WorkingDirectory= resolves symlinks: a master started in the resolved
// release would serve it forever), it starts from deploy_to (never
// pruned), ExecReload sends HUP to the main pid, and a master that dies is
// restarted into whatever current is then. Every word is quoted for
// systemd's command line, and its specifiers (%) and, in arguments,
// variables ($) escaped (systemd-analyze verify checks the result).
func SystemdUnit(f *inventory.Fleet, app inventory.App, h inventory.Host, user string) (string, error) {
	m, err := newManagedMaster(f, app, h, inventory.ProcessSystemd)
	if err != nil {
		return "", err
	}
	esc := strings.NewReplacer("%", "%%", "$", "$$").Replace
	args := make([]string, len(m.args))
	for i, a := range m.args {
		if i == 0 {
			a = strings.ReplaceAll(a, "%", "%%") // the program's path expands no variables
		} else {
			a = esc(a)
		}
		args[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(a) + `"`
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# Rendered by opsui for app %s on host %s. The master's working directory is\n", app.Name, h.Name)
	b.WriteString("# current's path (--chdir), so a reload (HUP) and a restart after a crash\n# load the release current points at. bind and workers are in\n# shared/opsui_server.conf.py, which each deploy writes before it reloads.\n")
	fmt.Fprintf(&b, "[Unit]\nDescription=%s\nAfter=network.target\n\n", esc("gunicorn of "+app.Name+" (opsui)"))
	b.WriteString("[Service]\nType=simple\n")
	if user != "" {
		fmt.Fprintf(&b, "User=%s\n", esc(user))
	}
	// Specifiers only: WorkingDirectory= expands no variables.
	fmt.Fprintf(&b, "WorkingDirectory=%s\n", strings.ReplaceAll(m.deployTo, "%", "%%"))
	fmt.Fprintf(&b, "ExecStart=%s\n", strings.Join(args, " "))
	b.WriteString("ExecReload=/bin/kill -s HUP $MAINPID\n")
	b.WriteString("KillMode=mixed\nTimeoutStopSec=30\nRestart=on-failure\nRestartSec=2\n\n")
	b.WriteString("[Install]\nWantedBy=multi-user.target\n")
	return b.String(), nil
}
