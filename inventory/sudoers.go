package inventory

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// SudoRule is one sudoers line a deploy needs: User may run Command (exact
// words) as root without a password, on Hosts, for Why.
type SudoRule struct {
	User    string
	Command []string
	Why     string
	Hosts   []string
}

// Line is the rule as a sudoers line.
func (r SudoRule) Line() string {
	words := make([]string, len(r.Command))
	for i, w := range r.Command {
		words[i] = SudoersEscape(w)
	}
	return fmt.Sprintf("%s ALL=(root) NOPASSWD: %s", r.User, strings.Join(words, " "))
}

// NoUser stands for the login user of a host whose fleet entry names none.
const NoUser = "DEPLOY_USER"

// SudoRules returns the sudoers rules app needs on the hosts of env: each
// role's reload where the role says sudo: true, and every command an app
// stage, the migration or a reload writes with sudo. Notes say what could
// not be turned into an exact rule (a sudo with options or a command that
// is not literal) and which hosts name no user.
func (f *Fleet) SudoRules(app, env string) (rules []SudoRule, notes []string, err error) {
	a, ok := f.App(app)
	if !ok {
		return nil, nil, fmt.Errorf("no app %q in the fleet", app)
	}
	if _, ok := f.Environment(env); !ok {
		return nil, nil, fmt.Errorf("no environment %q in the fleet", env)
	}
	hosts := f.Select(Filter{Env: env})
	if len(hosts) == 0 {
		return nil, nil, fmt.Errorf("environment %s has no hosts", env)
	}
	index := map[string]int{}
	add := func(h Host, cmd []string, why string) {
		user := h.User
		if user == "" {
			user = NoUser
		}
		key := user + "\x00" + strings.Join(cmd, "\x00")
		if i, ok := index[key]; ok {
			if !slices.Contains(rules[i].Hosts, h.Name) {
				rules[i].Hosts = append(rules[i].Hosts, h.Name)
			}
			return
		}
		index[key] = len(rules)
		rules = append(rules, SudoRule{User: user, Command: cmd, Why: why, Hosts: []string{h.Name}})
	}
	note := func(msg string) {
		if !slices.Contains(notes, msg) {
			notes = append(notes, msg)
		}
	}
	for _, h := range hosts {
		if h.User == "" {
			note(fmt.Sprintf("host %s names no user: replace %s with the user opsui logs in as", h.Name, NoUser))
		}
		for _, role := range h.Roles {
			set := f.SettingsFor(h, role)
			if w, ok := f.WorkerFor(a.Name, h); ok && role == RoleWorker && w.Sudo && set.Reload == "" {
				for _, cmd := range w.SudoCommands() {
					add(h, cmd, "role worker restart through "+w.Process)
				}
				continue
			}
			if set.Sudo && set.Reload != "" {
				cmd, err := SudoCommand(set.Reload)
				if err != nil {
					return nil, nil, fmt.Errorf("host %s, role %s: %w", h.Name, role, err)
				}
				add(h, cmd, "role "+role+" reload")
			} else if set.Sudo && set.Process == ProcessSupervisord {
				for _, cmd := range SupervisorCommands(SupervisorProgram(a.Name, set)) {
					add(h, cmd, "role "+role+" reload through supervisord")
				}
			} else if set.Sudo && set.Process == ProcessSystemd {
				for _, cmd := range SystemdCommands(SystemdUnit(a.Name, set)) {
					add(h, cmd, "role "+role+" reload through systemd")
				}
			} else {
				scanSudo(set.Reload, "role "+role+" reload", h, add, note)
			}
			if set.LogsSudo() {
				for _, l := range set.Logs {
					if msg := SudoLogProblem(l); msg != "" {
						return nil, nil, fmt.Errorf("host %s, role %s: %s", h.Name, role, msg)
					}
					follow, read := SudoTailCommands(l)
					add(h, follow, "role "+role+" log (opsui logs, the console, the regression watch)")
					add(h, read, "role "+role+" log (opsui logs --errors)")
				}
			}
			if role == "lb" {
				for _, k := range []string{"reload", "drain", "enable"} {
					scanSudo(set.Options[k], "balancer "+k, h, add, note)
				}
				if set.Sudo && set.Options["reload"] == "" && set.NginxBalancer() {
					for _, cmd := range NginxReloadCommands() {
						add(h, cmd, "balancer reload (nginx)")
					}
				}
			}
		}
		scanSudo(a.MigrateCommand(), "the migration", h, add, note)
		for _, st := range a.Stages {
			if len(st.Roles) == 0 || slices.ContainsFunc(st.Roles, h.HasRole) {
				scanSudo(st.Run, "stage "+st.Name, h, add, note)
			}
		}
	}
	return rules, notes, nil
}

// sudoCall finds a command run with sudo where a command starts: at the
// start of a line, after ; & | ( or a shell keyword.
var sudoCall = regexp.MustCompile(`(?m)(?:^|[;&|(]|\b(?:then|do|else)\s)\s*sudo\s+([^;&|)\n]*)`)

// scanSudo adds a rule for each literal `sudo CMD` in script.
func scanSudo(script, why string, h Host, add func(Host, []string, string), note func(string)) {
	for _, m := range sudoCall.FindAllStringSubmatch(script, -1) {
		words := strings.Fields(m[1])
		for len(words) > 0 && words[0] == "-n" || len(words) > 0 && words[0] == "--" {
			words = words[1:]
		}
		text := strings.Join(words, " ")
		if len(words) > 0 && strings.HasPrefix(words[0], "-") {
			note(fmt.Sprintf("%s runs `sudo %s`: sudo with options is not listed; allow it by hand", why, text))
			continue
		}
		cmd, err := SudoCommand(text)
		if err != nil {
			note(fmt.Sprintf("%s runs `sudo %s`, which no exact sudoers line can allow: %v", why, text, err))
			continue
		}
		add(h, cmd, why)
	}
}

// FormatSudoers renders rules and notes as a sudoers file for app in env:
// each rule after a comment naming why and on which hosts, the notes as
// comments first.
func FormatSudoers(app, env string, rules []SudoRule, notes []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# sudoers for app %s in environment %s, printed by opsui setup --print-sudoers.\n", app, env)
	fmt.Fprintf(&b, "# Install on each host with: visudo -f /etc/sudoers.d/opsui-%s\n", app)
	for _, n := range notes {
		fmt.Fprintf(&b, "# NOTE: %s\n", n)
	}
	if len(rules) == 0 {
		b.WriteString("# Nothing to allow: no role says sudo: true and no command is written with sudo.\n")
		return b.String()
	}
	for _, r := range rules {
		fmt.Fprintf(&b, "\n# %s on %s\n%s\n", r.Why, strings.Join(r.Hosts, ", "), r.Line())
	}
	return b.String()
}
