package inventory

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
)

// sudoWord is what a word of a command run with sudo may hold: no shell
// syntax (quotes, $, globs, redirections, ;, |, &), so that the words
// the host runs are exactly the words a sudoers line allows.
var sudoWord = regexp.MustCompile(`^[A-Za-z0-9/._+@%=:,-]+$`)

// shellPrograms are programs that run arbitrary commands: a sudoers line
// for one of them grants a root shell whatever its arguments.
var shellPrograms = []string{"sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "busybox",
	"su", "sudo", "doas", "env", "nohup", "xargs", "find", "vi", "vim", "less", "more", "python", "python3", "perl", "ruby"}

// SudoCommand splits cmd, a command to run with `sudo -n`, into its words:
// one absolute program and literal arguments, never a shell or a program
// that runs other programs (its sudoers line would grant a root shell).
func SudoCommand(cmd string) ([]string, error) {
	words := strings.Fields(cmd)
	if len(words) == 0 {
		return nil, fmt.Errorf("the command to run with sudo is empty")
	}
	for _, w := range words {
		if !sudoWord.MatchString(w) {
			return nil, fmt.Errorf("reload %q runs with sudo, so it must be one command with literal arguments (no quotes, $, globs, ;, | or &): %q is not literal", cmd, w)
		}
	}
	if !path.IsAbs(words[0]) {
		return nil, fmt.Errorf("reload %q runs with sudo: name the program by its absolute path (e.g. /usr/bin/%s), as the sudoers line must", cmd, words[0])
	}
	if slices.Contains(shellPrograms, path.Base(words[0])) {
		return nil, fmt.Errorf("reload %q runs with sudo: allowing %s in sudoers grants a root shell; name the program that reloads instead", cmd, path.Base(words[0]))
	}
	return words, nil
}

// SudoersEscape escapes the characters a sudoers command line gives a
// meaning to (',', ':', '=', '\\').
func SudoersEscape(word string) string {
	return strings.NewReplacer(`\`, `\\`, `,`, `\,`, `:`, `\:`, `=`, `\=`).Replace(word)
}

// DefaultSupervisorConf is supervisorctl's configuration when the web
// role's options.supervisor_conf names none: Debian's system supervisord.
const DefaultSupervisorConf = "/etc/supervisor/supervisord.conf"

// Supervisorctl is the program opsui reloads a supervisord program with.
const Supervisorctl = "/usr/bin/supervisorctl"

// SupervisorProgram returns the supervisord program that runs app's web
// server under settings set (options.program, else APP-web) and the
// configuration supervisorctl reads (options.supervisor_conf, else
// DefaultSupervisorConf).
func SupervisorProgram(app string, set RoleSettings) (program, conf string) {
	program, conf = set.Options["program"], set.Options["supervisor_conf"]
	if program == "" {
		program = app + "-web"
	}
	if conf == "" {
		conf = DefaultSupervisorConf
	}
	return program, conf
}

// Systemctl is the program opsui reloads a systemd unit with.
const Systemctl = "/usr/bin/systemctl"

// SystemdUnit returns the unit that runs app's web server under settings
// set: options.unit, else APP-web.service.
func SystemdUnit(app string, set RoleSettings) string {
	if u := set.Options["unit"]; u != "" {
		return u
	}
	return app + "-web.service"
}

// SystemdCommands are the systemctl command lines a deploy runs for a
// unit: a graceful reload (its ExecReload: HUP to the main pid), a start
// when it is not running, and the restart of opsui restart (its host
// drained first).
func SystemdCommands(unit string) [][]string {
	return [][]string{{Systemctl, "reload", unit}, {Systemctl, "start", unit}, {Systemctl, "restart", unit}}
}

// Nginx is the nginx program a balancer's default reload runs under sudo:
// Debian's path, so one exact sudoers line allows it.
const Nginx = "/usr/sbin/nginx"

// NginxReloadCommands are the command lines of the nginx balancer's
// default reload when its role says sudo: true (the deploy user cannot
// signal root's nginx): check the configuration, then reload gracefully.
func NginxReloadCommands() [][]string {
	return [][]string{{Nginx, "-t", "-q"}, {Nginx, "-s", "reload"}}
}

// NginxReload is the nginx balancer's default reload: with sudo (its
// role's sudo: true) the commands of NginxReloadCommands, else nginx as
// the PATH finds it.
func NginxReload(sudo bool) string {
	var parts []string
	for _, c := range NginxReloadCommands() {
		if !sudo {
			c[0] = "nginx"
		}
		line := strings.Join(c, " ")
		if sudo {
			line = "sudo " + line
		}
		parts = append(parts, line)
	}
	return strings.Join(parts, " && ")
}

// NginxBalancer reports whether lb settings s drain through an nginx
// upstream file (RolePreset).
func (s RoleSettings) NginxBalancer() bool {
	preset, _ := RolePreset("lb", s)
	return preset == BalancerNginx
}

// Managed reports whether a process manager runs the role's app server.
func (s RoleSettings) Managed() bool {
	return s.Process == ProcessSupervisord || s.Process == ProcessSystemd
}

// SupervisorCommands are the supervisorctl command lines a deploy runs for
// a program: a graceful reload (HUP), a start when it is not running, a
// stop when a failed first deploy takes the host out of service, and the
// status the reload reads first.
func SupervisorCommands(program, conf string) [][]string {
	return [][]string{
		{Supervisorctl, "-c", conf, "signal", "HUP", program},
		{Supervisorctl, "-c", conf, "start", program},
		{Supervisorctl, "-c", conf, "stop", program},
		{Supervisorctl, "-c", conf, "status", program},
	}
}
