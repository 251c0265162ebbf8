// Package inventory is opsui's fleet model: hosts, environments and apps,
// their validation, and the YAML, ssh_config and Ansible formats they are
// imported from and exported to. It does no I/O beyond reading the bytes it
// is given; persistence belongs to the store package.
package inventory

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fleet is the whole inventory: what a fleet file holds and what the store
// keeps. Order is preserved so an import followed by an export gives the same
// document.
type Fleet struct {
	Environments []Environment           `yaml:"environments,omitempty" json:"environments,omitempty"`
	Roles        map[string]RoleSettings `yaml:"roles,omitempty" json:"roles,omitempty"`
	Apps         []App                   `yaml:"apps,omitempty" json:"apps,omitempty"`
	Hosts        []Host                  `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	Freezes      []Freeze                `yaml:"freezes,omitempty" json:"freezes,omitempty"`   // inventory/freezes.go
	Runbooks     []Runbook               `yaml:"runbooks,omitempty" json:"runbooks,omitempty"` // inventory/runbook.go
}

// Environment is a deployment target such as staging or production.
type Environment struct {
	Name string `yaml:"name" json:"name"`
	// Protected environments need their name typed before a destructive action.
	Protected bool `yaml:"protected,omitempty" json:"protected,omitempty"`
	// Strategy is the default deploy strategy: all, rolling or canary.
	Strategy  string `yaml:"strategy,omitempty" json:"strategy,omitempty"`
	BatchSize int    `yaml:"batch_size,omitempty" json:"batch_size,omitempty"`
}

// Strategies a deploy can use.
const (
	StrategyAll     = "all"
	StrategyRolling = "rolling"
	StrategyCanary  = "canary"
)

// Host is one machine of the fleet.
type Host struct {
	Name    string `yaml:"name" json:"name"`
	Address string `yaml:"address" json:"address"`
	// Port and User left at zero defer to ~/.ssh/config, then to 22 and the
	// local user, as ssh(1) does.
	Port         int      `yaml:"port,omitempty" json:"port,omitempty"`
	User         string   `yaml:"user,omitempty" json:"user,omitempty"`
	Env          string   `yaml:"env,omitempty" json:"env,omitempty"`
	Roles        []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	Tags         []string `yaml:"tags,omitempty" json:"tags,omitempty"`
	DeployTo     string   `yaml:"deploy_to,omitempty" json:"deploy_to,omitempty"`
	IdentityFile string   `yaml:"identity_file,omitempty" json:"identity_file,omitempty"`
	ProxyJump    string   `yaml:"proxy_jump,omitempty" json:"proxy_jump,omitempty"`
	ForwardAgent bool     `yaml:"forward_agent,omitempty" json:"forward_agent,omitempty"`
	// Settings override the fleet's role defaults for this host, keyed by role.
	Settings map[string]RoleSettings `yaml:"settings,omitempty" json:"settings,omitempty"`
}

// Unassigned reports whether the host has neither an environment nor a role yet,
// as hosts imported from ssh_config are until someone places them.
func (h Host) Unassigned() bool { return h.Env == "" && len(h.Roles) == 0 }

// HasRole reports whether the host carries role.
func (h Host) HasRole(role string) bool { return slices.Contains(h.Roles, role) }

// RoleSettings are the per-role facts opsui needs to operate a host: where its
// logs are, which service runs it and how to tell it is healthy. Options holds
// role-specific knobs (a cache's port, a balancer's backend name) that later
// features read; values are never secrets, which stay in the environment.
type RoleSettings struct {
	Service   string            `yaml:"service,omitempty" json:"service,omitempty"`
	Logs      []string          `yaml:"logs,omitempty" json:"logs,omitempty"`
	HealthURL string            `yaml:"health_url,omitempty" json:"health_url,omitempty"`
	Reload    string            `yaml:"reload,omitempty" json:"reload,omitempty"`
	Options   map[string]string `yaml:"options,omitempty" json:"options,omitempty"`
	// Sudo runs the role's reload command with `sudo -n` (the deploy user
	// is not root); the command must then be one absolute program with
	// literal arguments, so that a sudoers line can allow exactly it
	// (opsui setup --print-sudoers prints it). A host's settings can turn
	// it on for one host, not off.
	Sudo bool `yaml:"sudo,omitempty" json:"sudo,omitempty"`
	// Process is what runs the web role's app server: ProcessDaemon (the
	// default: opsui starts gunicorn itself), ProcessSupervisord (a
	// program of supervisord, reloaded with supervisorctl signal HUP) or
	// ProcessSystemd (a unit, reloaded with systemctl reload).
	Process string `yaml:"process,omitempty" json:"process,omitempty"`
}

// Process managers of the web role's app server.
const (
	ProcessDaemon      = "daemon"
	ProcessSupervisord = "supervisord"
	ProcessSystemd     = "systemd"
)

// IsZero reports whether no setting is present.
func (s RoleSettings) IsZero() bool {
	return len(s.Logs) == 0 && s.Service == "" && s.HealthURL == "" && s.Reload == "" && len(s.Options) == 0 && !s.Sudo && s.Process == ""
}

// merge returns s with every field that o sets taken from o.
func (s RoleSettings) merge(o RoleSettings) RoleSettings {
	if len(o.Logs) > 0 {
		s.Logs = o.Logs
	}
	if o.Service != "" {
		s.Service = o.Service
	}
	if o.HealthURL != "" {
		s.HealthURL = o.HealthURL
	}
	if o.Reload != "" {
		s.Reload = o.Reload
	}
	s.Sudo = s.Sudo || o.Sudo
	if o.Process != "" {
		s.Process = o.Process
	}
	if len(o.Options) > 0 {
		opts := make(map[string]string, len(s.Options)+len(o.Options))
		for k, v := range s.Options {
			opts[k] = v
		}
		for k, v := range o.Options {
			opts[k] = v
		}
		s.Options = opts
	}
	return s
}

// App is a deployable application.
type App struct {
	Name string `yaml:"name" json:"name"`
	// Repo is the path of the app's local git repository; releases are cut from it.
	Repo         string `yaml:"repo" json:"repo"`
	DeployTo     string `yaml:"deploy_to" json:"deploy_to"`
	KeepReleases int    `yaml:"keep_releases,omitempty" json:"keep_releases,omitempty"`
	// Preset names a built-in stage list (django); Stages replace or extend it.
	Preset  string   `yaml:"preset,omitempty" json:"preset,omitempty"`
	Shared  []string `yaml:"shared,omitempty" json:"shared,omitempty"`
	Stages  []Stage  `yaml:"stages,omitempty" json:"stages,omitempty"`
	Migrate string   `yaml:"migrate,omitempty" json:"migrate,omitempty"`
	// MigratePlan lists pending migrations without applying them.
	MigratePlan string       `yaml:"migrate_plan,omitempty" json:"migrate_plan,omitempty"`
	Health      *HealthCheck `yaml:"health,omitempty" json:"health,omitempty"`
	// Notify lists the webhooks told about the app's deploys and rollbacks.
	Notify []Webhook `yaml:"notify,omitempty" json:"notify,omitempty"`
	// Env is the app's environment on every host, rendered to
	// shared/.env; EnvPerEnvironment (by environment name) and EnvPerHost
	// (by host name) override it, the most specific winning (EnvFor).
	Env               map[string]EnvValue            `yaml:"env,omitempty" json:"env,omitempty"`
	EnvPerEnvironment map[string]map[string]EnvValue `yaml:"env_per_environment,omitempty" json:"env_per_environment,omitempty"`
	EnvPerHost        map[string]map[string]EnvValue `yaml:"env_per_host,omitempty" json:"env_per_host,omitempty"`
	// Secrets says where each secret an env value names is read from on
	// the operator's machine.
	Secrets map[string]SecretSource `yaml:"secrets,omitempty" json:"secrets,omitempty"`
	// StrictRequirements fails the django preset's build when the
	// release's virtualenv does not meet requirements.txt (a warning
	// otherwise).
	StrictRequirements bool `yaml:"strict_requirements,omitempty" json:"strict_requirements,omitempty"`
	// Watch is the regression watch after each batch (watch.go); nil: none.
	Watch *Watch `yaml:"watch,omitempty" json:"watch,omitempty"`
	// Static says where the django preset's collectstatic runs: once per
	// deploy, its tree shipped to every other web host (StaticOnce, the
	// default when empty), or on every web host (StaticPerHost).
	Static string `yaml:"static,omitempty" json:"static,omitempty"`
	// Build runs on the operator's machine in the commit's tree before
	// anything is uploaded (build.go); nil: the tree ships as it is.
	Build *Build `yaml:"build,omitempty" json:"build,omitempty"`
}

// Webhook is an HTTP endpoint that a JSON message is posted to when a
// deploy starts, succeeds, fails or is rolled back. Its URL may carry a
// token in its query; opsui never prints the query. No secret is kept
// here: SecretEnv names an environment variable of the operator's machine
// whose value signs the body (HMAC-SHA256).
type Webhook struct {
	URL string `yaml:"url" json:"url"`
	// Events limits the webhook to these events (see NotifyEvents); empty
	// means all of them.
	Events []string `yaml:"events,omitempty" json:"events,omitempty"`
	// Format is "json" (the default: opsui's own body) or "slack" (a
	// Slack-compatible incoming-webhook body).
	Format    string `yaml:"format,omitempty" json:"format,omitempty"`
	SecretEnv string `yaml:"secret_env,omitempty" json:"secret_env,omitempty"`
}

// Notification events and formats.
const (
	NotifyStart    = "start"
	NotifySuccess  = "success"
	NotifyFailure  = "failure"
	NotifyRollback = "rollback"
	// NotifyBreakGlass is a deploy let through a freeze with --break-glass.
	NotifyBreakGlass = "break_glass"

	NotifyFormatJSON  = "json"
	NotifyFormatSlack = "slack"
)

// NotifyEvents are the events a webhook can ask for, in the order a deploy
// goes through them, then the freeze's break-glass.
var NotifyEvents = []string{NotifyStart, NotifySuccess, NotifyFailure, NotifyRollback, NotifyBreakGlass}

// Wants reports whether the webhook is told about event.
func (w Webhook) Wants(event string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, event)
}

// DefaultKeepReleases is how many releases a host keeps when the app does not say.
const DefaultKeepReleases = 5

// DeployToOn returns where the app lives on host h: the host's deploy_to
// when it sets one, else the app's.
func (a App) DeployToOn(h Host) string {
	if h.DeployTo != "" {
		return h.DeployTo
	}
	return a.DeployTo
}

// Keep returns how many releases to keep on each host.
func (a App) Keep() int {
	if a.KeepReleases > 0 {
		return a.KeepReleases
	}
	return DefaultKeepReleases
}

// Stage is one step of a deploy: a shell recipe run on the hosts it applies to.
type Stage struct {
	Name string `yaml:"name" json:"name"`
	Run  string `yaml:"run" json:"run"`
	// Roles limits the stage to hosts with one of these roles; empty means all.
	Roles []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Once runs the stage on exactly one host per deploy.
	Once    bool     `yaml:"once,omitempty" json:"once,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Position places a custom stage relative to the preset's: "before:NAME",
	// "after:NAME" or "replace:NAME"; empty appends.
	Position string `yaml:"position,omitempty" json:"position,omitempty"`
}

// HealthCheck says how to tell that a web host serves a release.
type HealthCheck struct {
	URL string `yaml:"url" json:"url"`
	// The request names the site with Host (its Host header, a name the
	// app accepts, as in Django's ALLOWED_HOSTS; empty: the URL's host)
	// and more Headers by name (X-Forwarded-Proto: https).
	Host     string            `yaml:"host,omitempty" json:"host,omitempty"`
	Headers  map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	Expect   string            `yaml:"expect,omitempty" json:"expect,omitempty"`
	Retries  int               `yaml:"retries,omitempty" json:"retries,omitempty"`
	Deadline Duration          `yaml:"deadline,omitempty" json:"deadline,omitempty"`
}

// Duration is a time.Duration written as Go duration text ("90s", "5m").
type Duration time.Duration

// String returns the duration in Go's notation, empty for zero.
func (d Duration) String() string {
	if d == 0 {
		return ""
	}
	return time.Duration(d).String()
}

// MarshalText writes the duration as "1m30s".
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads Go duration text.
func (d *Duration) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 90s, 5m, 1h)", b)
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: negative", b)
	}
	*d = Duration(v)
	return nil
}

// Host returns the host called name.
func (f *Fleet) Host(name string) (Host, bool) {
	i := slices.IndexFunc(f.Hosts, func(h Host) bool { return h.Name == name })
	if i < 0 {
		return Host{}, false
	}
	return f.Hosts[i], true
}

// Environment returns the environment called name.
func (f *Fleet) Environment(name string) (Environment, bool) {
	i := slices.IndexFunc(f.Environments, func(e Environment) bool { return e.Name == name })
	if i < 0 {
		return Environment{}, false
	}
	return f.Environments[i], true
}

// App returns the app called name.
func (f *Fleet) App(name string) (App, bool) {
	i := slices.IndexFunc(f.Apps, func(a App) bool { return a.Name == name })
	if i < 0 {
		return App{}, false
	}
	return f.Apps[i], true
}

// SettingsFor returns the effective settings of host h for role: the fleet's
// role defaults overlaid with the host's own.
func (f *Fleet) SettingsFor(h Host, role string) RoleSettings {
	return f.Roles[role].merge(h.Settings[role])
}

// Filter selects hosts. Empty fields match everything.
type Filter struct {
	Env   string
	Role  string
	Tag   string
	Names []string
}

// Select returns the hosts matching the filter, in fleet order. Role
// "unassigned" selects hosts with no role and no environment.
func (f *Fleet) Select(flt Filter) []Host {
	var out []Host
	for _, h := range f.Hosts {
		if flt.Env != "" && h.Env != flt.Env {
			continue
		}
		if flt.Role == "unassigned" {
			if !h.Unassigned() {
				continue
			}
		} else if flt.Role != "" && !h.HasRole(flt.Role) {
			continue
		}
		if flt.Tag != "" && !slices.Contains(h.Tags, flt.Tag) {
			continue
		}
		if len(flt.Names) > 0 && !slices.Contains(flt.Names, h.Name) {
			continue
		}
		out = append(out, h)
	}
	return out
}

// Merge adds or replaces hosts (by name) and adds any environment they name
// that the fleet lacks. It is how ssh_config and Ansible imports land on an
// existing inventory: nothing is removed.
func (f *Fleet) Merge(hosts []Host, envs []Environment) {
	for _, e := range envs {
		if _, ok := f.Environment(e.Name); !ok {
			f.Environments = append(f.Environments, e)
		}
	}
	for _, h := range hosts {
		if h.Env != "" {
			if _, ok := f.Environment(h.Env); !ok {
				f.Environments = append(f.Environments, Environment{Name: h.Env})
			}
		}
		if i := slices.IndexFunc(f.Hosts, func(x Host) bool { return x.Name == h.Name }); i >= 0 {
			f.Hosts[i] = h
		} else {
			f.Hosts = append(f.Hosts, h)
		}
	}
}

// Clone returns a deep copy, so a changed fleet can be diffed against the
// original.
func (f *Fleet) Clone() *Fleet {
	b, err := json.Marshal(f)
	if err != nil {
		panic(fmt.Sprintf("inventory: clone fleet: %v", err)) // only plain data: cannot fail
	}
	var c Fleet
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("inventory: clone fleet: %v", err))
	}
	return &c
}

// SSHAddress returns what ssh is given to reach the host: its address,
// else its name (an ssh_config alias, which ssh resolves).
func (h Host) SSHAddress() string {
	if h.Address == "" {
		return h.Name
	}
	return h.Address
}

// DialAddress returns host:port for dialing, with port 22 when unset.
func (h Host) DialAddress() string {
	port := h.Port
	if port == 0 {
		port = 22
	}
	addr := h.SSHAddress()
	if strings.Contains(addr, ":") && !strings.HasPrefix(addr, "[") {
		addr = "[" + addr + "]"
	}
	return fmt.Sprintf("%s:%d", addr, port)
}
