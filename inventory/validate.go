package inventory

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
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

	for role, s := range f.Roles {
		p := "roles." + role
		if !ValidRole(role) {
			add(p, "invalid role name %q (use a-z, 0-9 and -)", role)
		}
		validateSettings(p, s, add)
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
			add(p+".preset", "unknown preset %q (known: %s)", a.Preset, strings.Join(Presets, ", "))
		}
		stages := map[string]bool{}
		for j, s := range a.Stages {
			sp := fmt.Sprintf("%s.stages[%d]", p, j)
			switch {
			case s.Name == "":
				add(sp+".name", "stage name is empty")
			case stages[s.Name]:
				add(sp+".name", "duplicate stage %q", s.Name)
			}
			stages[s.Name] = true
			if strings.TrimSpace(s.Run) == "" && !strings.HasPrefix(s.Position, "replace:") {
				add(sp+".run", "stage %q has nothing to run", s.Name)
			}
			for k, r := range s.Roles {
				if !ValidRole(r) {
					add(fmt.Sprintf("%s.roles[%d]", sp, k), "invalid role name %q (use a-z, 0-9 and -)", r)
				}
			}
			if s.Position != "" {
				verb, ref, ok := strings.Cut(s.Position, ":")
				if !ok || ref == "" || (verb != "before" && verb != "after" && verb != "replace") {
					add(sp+".position", "invalid position %q (want before:STAGE, after:STAGE or replace:STAGE)", s.Position)
				}
			}
		}
		if a.Health != nil && a.Health.URL == "" {
			add(p+".health.url", "health check has no url")
		}
		for j, w := range a.Notify {
			validateWebhook(fmt.Sprintf("%s.notify[%d]", p, j), w, add)
		}
	}

	hosts := map[string]int{}
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
		case strings.TrimSpace(h.Address) == "":
			add(p+".address", "host %q has an empty address", h.Name)
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
			validateSettings(sp, s, add)
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

func validateSettings(p string, s RoleSettings, add func(path, format string, args ...any)) {
	for k, l := range s.Logs {
		if !path.IsAbs(l) {
			add(fmt.Sprintf("%s.logs[%d]", p, k), "log path %q is not absolute", l)
		}
	}
	if s.HealthURL != "" && !strings.HasPrefix(s.HealthURL, "http://") && !strings.HasPrefix(s.HealthURL, "https://") {
		add(p+".health_url", "health_url %q is not an http(s) URL", s.HealthURL)
	}
}
