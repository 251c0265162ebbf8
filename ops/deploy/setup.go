package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// SetupOptions say how opsui setup treats a host.
type SetupOptions struct {
	// DryRun checks everything and says what would be done; nothing on the
	// host changes.
	DryRun bool
	// Force replaces a program, unit or upstream file that differs from
	// what opsui renders (it is otherwise reported and left alone).
	Force bool
	// Wheels says the app's repository ships wheels/: the release's
	// virtualenv installs them with pip (python's ensurepip is needed),
	// and Django need not come from the system's packages.
	Wheels bool
}

// ShipsWheels reports whether the app's repository has a wheels/
// directory at its HEAD, as the Django preset's build looks for one.
func ShipsWheels(ctx context.Context, repo string) bool {
	_, err := git(ctx, repo, "rev-parse", "--verify", "--quiet", "HEAD:wheels")
	return err == nil
}

// SetupScript returns the script that takes host h from bare to ready for
// app's first deploy, idempotently (setupPrelude says how it reports):
// the sudo rights the fleet's commands need on h, deploy_to with
// releases/ and shared/ and the app's shared directories, the web role's
// Python (the Django preset), the web and worker roles' supervisord
// program or systemd unit, and a balancer's nginx upstream file or
// HAProxy socket. Every value is quoted. A fleet that cannot be rendered
// (a managed web role without options.wsgi) is an error.
func SetupScript(f *inventory.Fleet, app inventory.App, h inventory.Host, o SetupOptions) (string, error) {
	q := remote.Quote
	var b strings.Builder
	b.WriteString(sudoPrelude + setupPrelude)
	fmt.Fprintf(&b, "OPSUI_APP=%s\n", q(app.Name))
	if o.DryRun {
		b.WriteString("OPSUI_DRY=1\n")
	}
	if o.Force {
		b.WriteString("OPSUI_FORCE=1\n")
	}
	if err := setupSudo(&b, f, app, h); err != nil {
		return "", err
	}
	if slices.ContainsFunc(DeployRoles, h.HasRole) {
		if err := setupDeployTo(&b, f, app, h, o); err != nil {
			return "", err
		}
	}
	if h.HasRole(RoleLB) {
		setupBalancer(&b, f, app, h)
	}
	b.WriteString(`if [ "$setup_humans" -gt 0 ]; then echo "opsui setup: $setup_humans item(s) on $(uname -n) need a human" >&2; exit 1; fi
`)
	return b.String(), nil
}

// setupSudo checks each sudoers rule of the fleet that names h.
func setupSudo(b *strings.Builder, f *inventory.Fleet, app inventory.App, h inventory.Host) error {
	rules, _, err := f.SudoRules(app.Name, h.Env)
	if err != nil {
		return err
	}
	var mine []inventory.SudoRule
	for _, r := range rules {
		if slices.Contains(r.Hosts, h.Name) {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	b.WriteString("if ! command -v sudo >/dev/null 2>&1; then\n  setup_human \"sudo is not installed, and the fleet's commands on this host run with it\" \"apt-get install sudo\"\nelse\n")
	for _, r := range mine {
		words := make([]string, len(r.Command))
		for i, w := range r.Command {
			words[i] = remote.Quote(w)
		}
		fmt.Fprintf(b, "  setup_sudo_right %s %s\n", remote.Quote(r.Line()), strings.Join(words, " "))
	}
	b.WriteString("fi\n")
	return nil
}

// setupDeployTo readies deploy_to and what lives in it, then the web and
// worker roles' Python and process managers.
func setupDeployTo(b *strings.Builder, f *inventory.Fleet, app inventory.App, h inventory.Host, o SetupOptions) error {
	q := remote.Quote
	deployTo := strings.TrimRight(app.DeployToOn(h), "/")
	web := f.SettingsFor(h, "web")
	w, hasWorker := f.WorkerFor(app.Name, h)
	managed := h.HasRole("web") && web.Managed() || hasWorker && w.Process != inventory.ProcessDaemon
	fmt.Fprintf(b, "DT=%s\nif setup_dir \"$DT\" deploy_to; then\n", q(deployTo))
	b.WriteString("  setup_dir \"$DT/releases\" 'releases directory'\n  setup_dir \"$DT/shared\" 'shared directory'\n")
	logs := false
	for _, e := range app.Shared {
		if strings.HasSuffix(e, "/") {
			logs = logs || strings.TrimSuffix(e, "/") == "logs"
			fmt.Fprintf(b, "  setup_dir \"$DT/shared/\"%s %s\n", q(strings.TrimSuffix(e, "/")), q("shared entry "+e+":"))
			continue
		}
		if "shared/"+e == envFileName && app.HasEnv() {
			continue // each deploy renders it from the fleet's env
		}
		fmt.Fprintf(b, "  e=%s\n  if [ -f \"$DT/shared/$e\" ]; then setup_right \"shared file $e exists\"; else setup_human \"shared file $e is missing: each deploy links it into the release; put it in place\" \"install -m 0600 YOUR-FILE $(setup_q \"$DT/shared/$e\")\"; fi\n", q(e))
	}
	if managed && !logs {
		b.WriteString("  setup_dir \"$DT/shared/logs\" 'logs directory (the process manager writes there)'\n")
	}
	b.WriteString("fi\n")
	if h.HasRole("web") && app.Preset == PresetDjango {
		setupPython(b, web, o)
	}
	if h.HasRole("web") && web.Managed() {
		if err := setupWebManager(b, f, app, h, web); err != nil {
			return err
		}
	}
	if hasWorker && w.Process != inventory.ProcessDaemon {
		if err := setupWorkerManager(b, f, app, h, w); err != nil {
			return err
		}
	}
	return nil
}

// setupPython checks the Python the Django preset builds each release's
// virtualenv with: its venv module, and what the release imports from the
// system when it ships no wheels.
func setupPython(b *strings.Builder, web inventory.RoleSettings, o SetupOptions) {
	py := web.Options["python"]
	if py == "" {
		py = "/usr/bin/python3"
	}
	mods := []string{"venv"}
	switch {
	case o.Wheels:
		mods = append(mods, "ensurepip")
	case web.Options["gunicorn"] != "":
		mods = append(mods, "django")
	default:
		mods = append(mods, "django", "gunicorn")
	}
	fmt.Fprintf(b, `PY=%s
if ! command -v -- "$PY" >/dev/null 2>&1; then
  setup_human "python: $PY is not on this host (the django preset builds each release's virtualenv with it)" "sudo apt-get install python3 python3-venv"
else
  v=$("$PY" -c 'import sys; print(sys.version.split()[0])' 2>&1)
  missing=
  for m in %s; do "$PY" -c "import $m" >/dev/null 2>&1 || missing="$missing $m"; done
  if [ -z "$missing" ]; then
    setup_right "python: $PY $v imports %s"
  else
    setup_human "python: $PY $v cannot import:$missing (%s)" "sudo apt-get install $(for m in $missing; do case $m in venv|ensurepip) printf 'python3-venv ' ;; django) printf 'python3-django ' ;; gunicorn) printf 'gunicorn ' ;; esac; done)"
  fi
fi
`, remote.Quote(py), strings.Join(mods, " "), strings.Join(mods, ", "), pythonWhy(o.Wheels))
}

func pythonWhy(wheels bool) string {
	if wheels {
		return "the release's wheels/ are installed with pip"
	}
	return "the release ships no wheels/: its virtualenv uses the system's packages"
}

// setupWebManager installs the web role's supervisord program or systemd
// unit.
func setupWebManager(b *strings.Builder, f *inventory.Fleet, app inventory.App, h inventory.Host, set inventory.RoleSettings) error {
	if set.Process == inventory.ProcessSupervisord {
		text, err := SupervisorProgram(f, app, h, h.User)
		if err != nil {
			return err
		}
		program, conf := inventory.SupervisorProgram(app.Name, set)
		setupSupervisor(b, "web", program, program, conf, set.Sudo, text)
		return nil
	}
	text, err := SystemdUnit(f, app, h, h.User)
	if err != nil {
		return err
	}
	setupSystemd(b, "web", inventory.SystemdUnit(app.Name, set), text)
	return nil
}

// setupWorkerManager installs the worker role's supervisord program or
// systemd unit.
func setupWorkerManager(b *strings.Builder, f *inventory.Fleet, app inventory.App, h inventory.Host, w inventory.Worker) error {
	if w.Process == inventory.ProcessSupervisord {
		text, err := WorkerSupervisorProgram(f, app, h, h.User)
		if err != nil {
			return err
		}
		setupSupervisor(b, "worker", w.Program, w.Group(), w.Conf, w.Sudo, text)
		return nil
	}
	text, err := WorkerSystemdUnit(f, app, h, h.User)
	if err != nil {
		return err
	}
	setupSystemd(b, "worker", w.Unit, text)
	return nil
}

// setupSupervisor installs program (text) in the include directory that
// supervisord's configuration conf names, and has supervisord read it.
func setupSupervisor(b *strings.Builder, role, program, status, conf string, sudo bool, text string) {
	q := remote.Quote
	sv := ""
	if sudo {
		sv = "1"
	}
	update := "/usr/bin/supervisorctl -c " + q(conf) + " update"
	if sudo {
		update = "sudo " + update
	}
	fmt.Fprintf(b, `if [ ! -x /usr/bin/supervisorctl ]; then
  setup_human "supervisord is not installed (the %[1]s role's process: supervisord)" "sudo apt-get install supervisor"
elif ! inc=$(setup_sv_include %[2]s); then
  setup_human "supervisord's configuration %[6]s is unreadable or has no [include] files = DIR/*.conf: opsui installs program %[3]s in that directory" "sudoedit %[2]s"
else
  set -- $inc
  if setup_file "supervisord program %[3]s" "$1/"%[3]s".$2" %[4]s %[3]s.conf %[7]s; then
    setup_sv_loaded %[3]s %[5]s %[2]s %[8]s
  fi
fi
`, role, q(conf), q(program), q(text), q(status), strings.ReplaceAll(conf, `"`, ""), q(update), q(sv))
}

// setupSystemd installs unit (text) in /etc/systemd/system through sudo
// where a sudoers line allows it, and has systemd read and enable it.
func setupSystemd(b *strings.Builder, role, unit, text string) {
	q := remote.Quote
	fmt.Fprintf(b, `if ! command -v systemctl >/dev/null 2>&1 && [ ! -x /usr/bin/systemctl ]; then
  setup_human "systemctl is not on this host, and the %[1]s role says process: systemd (set process: supervisord or daemon in the fleet file)"
elif setup_file "systemd unit "%[2]s /etc/systemd/system/%[2]s %[3]s %[2]s "sudo /usr/bin/systemctl daemon-reload" "sudo /usr/bin/systemctl enable "%[2]s; then
  if [ -n "$setup_changed" ]; then
    for c in daemon-reload "enable "%[2]s; do
      if [ -n "${OPSUI_DRY-}" ]; then setup_done "sudo /usr/bin/systemctl $c"
      elif command sudo -n -l -- /usr/bin/systemctl $c >/dev/null 2>&1 && out=$(command sudo -n -- /usr/bin/systemctl $c 2>&1); then setup_done "sudo /usr/bin/systemctl $c"
      else setup_human "systemd must read unit "%[2]s": $setup_me may not run systemctl $c" "sudo /usr/bin/systemctl $c"; fi
    done
  elif [ "$(/usr/bin/systemctl show -p NeedDaemonReload --value %[2]s 2>/dev/null)" = yes ]; then
    setup_human "systemd has not read unit "%[2]s" since it changed" "sudo /usr/bin/systemctl daemon-reload"
  elif /usr/bin/systemctl is-enabled --quiet %[2]s 2>/dev/null; then
    setup_right "systemd unit "%[2]s" is enabled"
  else
    setup_human "systemd unit "%[2]s" is not enabled" "sudo /usr/bin/systemctl enable "%[2]s
  fi
fi
`, role, q(unit), q(text))
}
