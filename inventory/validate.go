package inventory

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
)

// Problem is one thing wrong with a fleet. Path locates the field
// ("hosts[2].port"); File, Line and Column are filled in when the fleet came
// from a file.
type Problem struct {
	File   string
	Line   int
	Column int
	Path   string
	Msg    string
}

func (p Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		b.WriteString(":")
	}
	switch {
	case p.Line > 0 && p.Column > 0:
		fmt.Fprintf(&b, "%d:%d:", p.Line, p.Column)
	case p.Line > 0:
		fmt.Fprintf(&b, "%d:", p.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one fleet; it is the error Validate and
// the importers return, so callers can list them all at once.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	if len(ps) == 1 {
		return lines[0]
	}
	return fmt.Sprintf("%d problems:\n  %s", len(ps), strings.Join(lines, "\n  "))
}

var (
	roleRe = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	envRe  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	hostRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	tagRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:/-]*$`)
	// dnsRe accepts a DNS name or an ssh_config alias; addresses are checked
	// for IPs first.
	dnsRe = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?)*\.?$`)
	// envVarRe is a portable environment variable name.
	envVarRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ValidRole reports whether name is a valid role name: [a-z0-9-], starting
// with a letter or digit.
func ValidRole(name string) bool { return roleRe.MatchString(name) }

// ValidHostName reports whether name can name a host.
func ValidHostName(name string) bool { return len(name) <= 253 && hostRe.MatchString(name) }

// ValidEnvName reports whether name can name an environment.
func ValidEnvName(name string) bool { return envRe.MatchString(name) }

// ValidAddress reports whether addr is an IP address or a DNS name.
func ValidAddress(addr string) bool {
	if net.ParseIP(strings.Trim(addr, "[]")) != nil {
		return true
	}
	return len(addr) <= 253 && dnsRe.MatchString(addr)
}

// Presets are the built-in stage lists an app can name.
var Presets = []string{"django"}

// Where the django preset's collectstatic runs (App.Static).
const (
	StaticOnce    = "once"
	StaticPerHost = "per_host"
)

// StaticModes are the values App.Static may take.
var StaticModes = []string{StaticOnce, StaticPerHost}

// Validate checks the whole fleet and returns every problem, or nil.
func Validate(f *Fleet) error {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Msg: fmt.Sprintf(format, args...)})
	}

	envs := map[string]bool{}
	for i, e := range f.Environments {
		p := fmt.Sprintf("environments[%d]", i)
		switch {
		case e.Name == "":
			add(p+".name", "environment name is empty")
		case !ValidEnvName(e.Name):
			add(p+".name", "invalid environment name %q (use a-z, 0-9, - and _)", e.Name)
		case envs[e.Name]:
			add(p+".name", "duplicate environment %q", e.Name)
		}
		envs[e.Name] = true
		switch e.Strategy {
		case "", StrategyAll, StrategyRolling, StrategyCanary:
		default:
			add(p+".strategy", "unknown strategy %q (want all, rolling or canary)", e.Strategy)
		}
		if e.BatchSize < 0 {
			add(p+".batch_size", "batch_size %d is negative", e.BatchSize)
		}
	}

	validateFreezes(f, add)
	validateRunbooks(f, add)

	for role, s := range f.Roles {
		p := "roles." + role
		if !ValidRole(role) {
			add(p, "invalid role name %q (use a-z, 0-9 and -)", role)
		}
		validateSettings(p, role, s, add)
	}

	apps := map[string]bool{}
	for i, a := range f.Apps {
		p := fmt.Sprintf("apps[%d]", i)
		switch {
		case a.Name == "":
			add(p+".name", "app name is empty")
		case !ValidEnvName(a.Name):
			add(p+".name", "invalid app name %q (use a-z, 0-9, - and _)", a.Name)
		case apps[a.Name]:
			add(p+".name", "duplicate app %q", a.Name)
		}
		apps[a.Name] = true
		if a.Repo == "" {
			add(p+".repo", "repo is empty (the path of the app's local git repository)")
		}
		if a.DeployTo == "" {
			add(p+".deploy_to", "deploy_to is empty")
		} else if !path.IsAbs(a.DeployTo) {
			add(p+".deploy_to", "deploy_to %q is not an absolute path", a.DeployTo)
		}
		if a.KeepReleases < 0 {
			add(p+".keep_releases", "keep_releases %d is negative", a.KeepReleases)
		}
		if a.Preset != "" && !slices.Contains(Presets, a.Preset) {
			add(p+".preset", "unknown preset %q%s", a.Preset, didYouMean(a.Preset, Presets))
		}
		switch {
		case a.Static != "" && !slices.Contains(StaticModes, a.Static):
			add(p+".static", "unknown static %q (known: %s)", a.Static, strings.Join(StaticModes, ", "))
		case a.Static != "" && a.Preset != "django":
			add(p+".static", "static applies to the django preset's collectstatic step; app %q has no preset django", a.Name)
		}
		for j, s := range a.Stages {
			for k, r := range s.Roles {
				if !ValidRole(r) {
					add(fmt.Sprintf("%s.stages[%d].roles[%d]", p, j, k), "invalid role name %q (use a-z, 0-9 and -)", r)
				}
			}
		}
		if _, ok := presetSteps[a.Preset]; ok {
			_, sps := PlaceStages(a)
			for _, sp := range sps {
				add(fmt.Sprintf("%s.stages[%d].%s", p, sp.Stage, sp.Field), "%s", sp.Msg)
			}
		}
		for j, e := range a.Shared {
			if msg := SharedEntryProblem(e); msg != "" {
				add(fmt.Sprintf("%s.shared[%d]", p, j), "%s", msg)
			}
		}
		if a.Health != nil && a.Health.URL == "" {
			add(p+".health.url", "health check has no url")
		}
		if a.Health != nil {
			for _, msg := range expectProblems(a.Health.Expect) {
				add(p+".health.expect", "%s", msg)
			}
			validateHealthRequest(p+".health", *a.Health, add)
		}
		for j, w := range a.Notify {
			validateWebhook(fmt.Sprintf("%s.notify[%d]", p, j), w, add)
		}
		validateWatch(p, a.Watch, envs, add)
		validateBuild(p, a.Build, a.Secrets, add)
		validateEnv(p, a, envs, func(name string) bool { _, ok := f.Host(name); return ok }, add)
	}

	hosts := map[string]int{}
	presetSeen := map[string]bool{}
	for i, h := range f.Hosts {
		p := fmt.Sprintf("hosts[%d]", i)
		switch {
		case h.Name == "":
			add(p+".name", "host name is empty")
		case !ValidHostName(h.Name):
			add(p+".name", "invalid host name %q (use letters, digits, '.', '-' and '_')", h.Name)
		default:
			if j, dup := hosts[h.Name]; dup {
				add(p+".name", "duplicate host name %q (first defined at hosts[%d])", h.Name, j)
			} else {
				hosts[h.Name] = i
			}
		}
		switch {
		case h.Address == "" && ValidAddress(h.Name):
			// ssh resolves the name itself (an ssh_config alias, a DNS name).
		case strings.TrimSpace(h.Address) == "":
			add(p+".address", "host %q has no address, and its name is not one ssh can resolve", h.Name)
		case !ValidAddress(h.Address):
			add(p+".address", "host %q: invalid address %q (want an IP address or a DNS name)", h.Name, h.Address)
		}
		if h.Port < 0 || h.Port > 65535 {
			add(p+".port", "host %q: port %d out of range (1-65535)", h.Name, h.Port)
		}
		if h.Env != "" && !envs[h.Env] {
			add(p+".env", "host %q: unknown environment %q (declare it under environments:)", h.Name, h.Env)
		}
		seen := map[string]bool{}
		for k, r := range h.Roles {
			if !ValidRole(r) {
				add(fmt.Sprintf("%s.roles[%d]", p, k), "host %q: invalid role name %q (use a-z, 0-9 and -)", h.Name, r)
			} else if seen[r] {
				add(fmt.Sprintf("%s.roles[%d]", p, k), "host %q: role %q listed twice", h.Name, r)
			}
			seen[r] = true
		}
		for k, t := range h.Tags {
			if !tagRe.MatchString(t) {
				add(fmt.Sprintf("%s.tags[%d]", p, k), "host %q: invalid tag %q", h.Name, t)
			}
		}
		if h.DeployTo != "" && !path.IsAbs(h.DeployTo) {
			add(p+".deploy_to", "host %q: deploy_to %q is not an absolute path", h.Name, h.DeployTo)
		}
		for role, s := range h.Settings {
			sp := p + ".settings." + role
			if !h.HasRole(role) {
				add(sp, "host %q: settings for role %q, which the host does not have", h.Name, role)
			}
			validateSettings(sp, role, s, add)
		}
		validatePresets(f, p, h, presetSeen, add)
		for _, role := range h.Roles {
			set := f.SettingsFor(h, role)
			switch own := h.Settings[role]; {
			case !set.Sudo:
			case role == "lb" && set.Reload == "" && set.NginxBalancer():
				// nginx's default reload runs with sudo (NginxReload).
			case set.Reload == "" && !set.Managed():
				add(p, "host %q: role %s has sudo: true but no reload command to run with sudo (nor process: supervisord or systemd, nor an nginx balancer)", h.Name, role)
			case set.Reload == "":
			case own.Sudo || own.Reload != "":
				// The role's own settings were checked above.
				if _, err := SudoCommand(set.Reload); err != nil {
					add(p+".settings."+role, "host %q: %v", h.Name, err)
				}
			}
			if role == RoleWorker {
				for _, msg := range workerSettingsProblems(h, set) {
					add(p, "%s", msg)
				}
				continue // a worker's command is checked with its options; it has no wsgi
			}
			if set.Managed() && set.Reload == "" && set.Options["wsgi"] == "" {
				add(p, "host %q: process: %s needs the web role's options.wsgi (e.g. shopsite.wsgi:application): opsui renders the %s's command from it", h.Name, set.Process, map[string]string{ProcessSupervisord: "program", ProcessSystemd: "unit"}[set.Process])
			}
		}
	}
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// validateWebhook checks one notify entry. Problems never quote the URL's
// query, which may hold a token.
func validateWebhook(p string, w Webhook, add func(path, format string, args ...any)) {
	u, err := url.Parse(w.URL)
	switch {
	case strings.TrimSpace(w.URL) == "":
		add(p+".url", "webhook url is empty")
	case err != nil:
		add(p+".url", "webhook url is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		add(p+".url", "webhook url %q is not an http(s) URL", RedactURL(w.URL))
	case u.Host == "":
		add(p+".url", "webhook url %q has no host", RedactURL(w.URL))
	}
	seen := map[string]bool{}
	for k, e := range w.Events {
		switch {
		case !slices.Contains(NotifyEvents, e):
			add(fmt.Sprintf("%s.events[%d]", p, k), "unknown event %q (known: %s)", e, strings.Join(NotifyEvents, ", "))
		case seen[e]:
			add(fmt.Sprintf("%s.events[%d]", p, k), "event %q listed twice", e)
		}
		seen[e] = true
	}
	switch w.Format {
	case "", NotifyFormatJSON, NotifyFormatSlack:
	default:
		add(p+".format", "unknown format %q (want json or slack)", w.Format)
	}
	if w.SecretEnv != "" && !envVarRe.MatchString(w.SecretEnv) {
		add(p+".secret_env", "invalid environment variable name %q", w.SecretEnv)
	}
}

// RedactURL returns only the scheme and host of raw, for messages: a
// webhook URL carries its token in the path (Slack's /services/T/B/SECRET),
// the query or the user info, so none of them is ever shown. Text that has
// no scheme is shown as "(url hidden)".
func RedactURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Scheme == "" {
		return "(url hidden)"
	}
	return u.Scheme + "://" + u.Host
}

func validateSettings(p, role string, s RoleSettings, add func(path, format string, args ...any)) {
	for k, v := range s.Options {
		if msg := OptionProblem(role, k, v); msg != "" {
			add(p+".options."+k, "%s", msg)
		}
	}
	for k, l := range s.Logs {
		if !path.IsAbs(l) {
			add(fmt.Sprintf("%s.logs[%d]", p, k), "log path %q is not absolute", l)
		} else if msg := SudoLogProblem(l); msg != "" && s.LogsSudo() {
			add(fmt.Sprintf("%s.logs[%d]", p, k), "%s", msg)
		}
	}
	if s.HealthURL != "" && !strings.HasPrefix(s.HealthURL, "http://") && !strings.HasPrefix(s.HealthURL, "https://") {
		add(p+".health_url", "health_url %q is not an http(s) URL", s.HealthURL)
	}
	if s.Sudo && s.Reload != "" {
		if _, err := SudoCommand(s.Reload); err != nil {
			add(p+".reload", "%v", err)
		}
	}
	switch {
	case s.Process == "":
	case role != "web" && role != RoleWorker:
		add(p+".process", "process: is a setting of the web role (the app server) and the worker role, not of %s", role)
	case s.Process != ProcessDaemon && s.Process != ProcessSupervisord && s.Process != ProcessSystemd:
		add(p+".process", "unknown process manager %q%s", s.Process, didYouMean(s.Process, []string{ProcessSystemd, ProcessSupervisord, ProcessDaemon}))
	}
}

// SharedEntryProblem says why entry cannot be a shared: entry, or returns
// "". An entry names a path inside the release that is replaced by a link
// into shared/: the link step deletes what the release has there, so an
// entry must never reach outside the release (an absolute path or a ".."),
// be ambiguous (empty or "." components) or hold a control character (a
// newline would split it in two on the host). A trailing "/" marks a
// directory.
func SharedEntryProblem(entry string) string {
	if entry == "" {
		return "shared entry is empty"
	}
	if strings.ContainsFunc(entry, unicode.IsControl) {
		return fmt.Sprintf("shared entry %q holds a control character", entry)
	}
	if strings.HasPrefix(entry, "/") {
		return fmt.Sprintf("shared entry %q is an absolute path (name a path inside the release, e.g. media/)", entry)
	}
	for _, c := range strings.Split(strings.TrimSuffix(entry, "/"), "/") {
		switch c {
		case "":
			return fmt.Sprintf("shared entry %q has an empty path component", entry)
		case ".", "..":
			return fmt.Sprintf("shared entry %q has a %q component (it must stay inside the release)", entry, c)
		}
	}
	if e := strings.TrimSuffix(entry, "/"); e == "REVISION" || e == "BAD" {
		return fmt.Sprintf("shared entry %q is a file opsui writes in each release", entry)
	}
	return ""
}

// ExpectVariables are the variables a health check's expect may name:
// opsui fills them in with the release the host must serve.
var ExpectVariables = []string{"RELEASE_ID", "COMMIT"}

// expectProblems returns a message per variable of expect that opsui does
// not fill in ($COMIT would be matched literally and never found).
func expectProblems(expect string) []string {
	var out []string
	for i := 0; i < len(expect); i++ {
		if expect[i] != '$' || i+1 == len(expect) {
			continue
		}
		var name string
		switch rest := expect[i+1:]; {
		case rest[0] == '{':
			end := strings.IndexByte(rest, '}')
			if end < 0 {
				out = append(out, fmt.Sprintf("expect %q: unterminated ${", expect))
				return out
			}
			name = rest[1:end]
			i += end + 1
		case rest[0] == '_' || unicode.IsLetter(rune(rest[0])):
			n := strings.IndexFunc(rest, func(r rune) bool { return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) })
			if n < 0 {
				n = len(rest)
			}
			name = rest[:n]
			i += n
		default:
			continue // "$5", "$$": text, as the check leaves it
		}
		if !slices.Contains(ExpectVariables, name) {
			msg := fmt.Sprintf("expect %q: unknown variable $%s (expect can name $%s)", expect, name, strings.Join(ExpectVariables, " and $"))
			if c := Closest(name, ExpectVariables); c != "" {
				msg = fmt.Sprintf("expect %q: unknown variable $%s (did you mean $%s?)", expect, name, c)
			}
			out = append(out, msg)
		}
	}
	return out
}

var (
	// identRe names an nginx upstream, an HAProxy backend or server: the
	// values go into nginx's config and HAProxy's runtime API lines.
	identRe = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$`)
	// unixPathRe is the path of a unix: address.
	unixPathRe = regexp.MustCompile(`^/[A-Za-z0-9._/@+-]*$`)
)

// ValidIdentifier reports whether s can name an nginx upstream or an
// HAProxy backend or server.
func ValidIdentifier(s string) bool { return identRe.MatchString(s) }

// ValidListenAddress reports whether s is host:port (an IP address, [IPv6]
// or a DNS name, and a port 1-65535) or unix:/absolute/path.
func ValidListenAddress(s string) bool {
	if p, ok := strings.CutPrefix(s, "unix:"); ok {
		return unixPathRe.MatchString(p) && !slices.Contains(strings.Split(p, "/"), "..")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" {
		return false
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return false
	}
	if net.ParseIP(host) != nil {
		return true
	}
	return !strings.Contains(host, ":") && len(host) <= 253 && dnsRe.MatchString(host)
}

// didYouMean returns ` (did you mean "x"?)` for the closest of known, else
// ` (want a, b or c)`.
func didYouMean(v string, known []string) string {
	if c := Closest(v, known); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	return " (want " + orList(known) + ")"
}
