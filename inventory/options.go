package inventory

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// OptionType is what an option's value must be.
type OptionType int

// Option types. Each says what it accepts in Describe, and OptionProblem
// checks it.
const (
	// OptCommand is a shell command run on the host.
	OptCommand OptionType = iota
	// OptName names an nginx upstream, an HAProxy backend or server, or a
	// supervisord program: it goes into their configuration.
	OptName
	// OptListen is host:port, [ipv6]:port or unix:/absolute/path.
	OptListen
	// OptAddress is an IP address or a DNS name.
	OptAddress
	// OptHostOrDir is an IP address, a DNS name or an absolute directory
	// (PostgreSQL's socket directory).
	OptHostOrDir
	// OptPath is an absolute path of plain characters.
	OptPath
	// OptProgram is one program: an absolute path or a name looked up on
	// the host's PATH, without spaces.
	OptProgram
	// OptPort is a TCP port, 1-65535.
	OptPort
	// OptCount is a whole number within the option's Min and Max.
	OptCount
	// OptSeconds is a number of seconds, 0-3600, decimals allowed.
	OptSeconds
	// OptChoice is one of the option's Choices.
	OptChoice
	// OptWSGI is a Python module[:attribute].
	OptWSGI
	// OptUnit is a systemd service unit name.
	OptUnit
	// OptEnvVar is the name of an environment variable of the operator's
	// machine.
	OptEnvVar
	// OptWorkerCommand is one program with its arguments, exec'd as a
	// worker (WorkerCommandProblem): no shell lists or pipelines.
	OptWorkerCommand
)

// Describe says in a few words what a value of type t is, for messages and
// the options reference.
func (t OptionType) Describe() string {
	return [...]string{
		OptCommand:   "shell command",
		OptName:      "name",
		OptListen:    "host:port or unix:/path",
		OptAddress:   "IP address or DNS name",
		OptHostOrDir: "host or socket directory",
		OptPath:      "absolute path",
		OptProgram:   "program (path or name)",
		OptPort:      "port (1-65535)",
		OptCount:     "number",
		OptSeconds:   "seconds",
		OptChoice:    "one of",
		OptWSGI:      "module[:attribute]",
		OptUnit:      "systemd unit name",
		OptEnvVar:    "environment variable name",

		OptWorkerCommand: "one command (no ; & | or $(…))",
	}[t]
}

// Option is one role option that opsui reads: the fleet file's
// `settings.ROLE.options.KEY`. Options is the single list of them: import
// refuses any other, and docs/OPTIONS.md is generated from it.
type Option struct {
	// Role is the role whose settings hold the option; "" is every role.
	Role string
	Key  string
	Type OptionType
	// Choices are the values of an OptChoice; Min and Max bound an OptCount.
	Choices  []string
	Min, Max int
	// Presets are the presets of the role that read the option (see
	// RolePreset); empty means all of them.
	Presets []string
	// Default is what opsui uses when the option is not set, in words.
	Default string
	// Meaning says what the option does, in one sentence.
	Meaning string
}

// The web role's process managers, the balancer presets and the cache
// kinds: what RolePreset returns.
const (
	BalancerNginx   = "nginx"
	BalancerHAProxy = "haproxy"
	BalancerCustom  = "custom"
	CacheMemcached  = "memcached"
	CacheRedis      = "redis"
)

// Options is every role option opsui reads, by role then in the order the
// reference lists them.
var Options = []Option{
	{Key: "check", Type: OptCommand,
		Default: "web: a GET of health_url; db by its service: pg_isready (postgresql, or none named), mysqladmin ping (mysql, mariadb), no check for sqlite; " +
			"cache: memcached stats or redis PING; lb by its preset: nginx -t -q (through sudo with /usr/sbin/nginx when sudo: true; none with a reload of its own), HAProxy's show info",
		Meaning: "replaces the status panel's health check of the host for this role (exit status 0 is healthy)"},

	{Key: "logs_sudo", Type: OptChoice, Choices: []string{"true", "false"}, Default: "false",
		Meaning: "reads the role's logs through sudo -n " + Tail + " (root-owned logs such as /var/log/nginx/error.log); opsui setup --print-sudoers prints the exact line for each file"},

	{Role: "web", Key: "bind", Type: OptListen, Default: "127.0.0.1:8000",
		Meaning: "where gunicorn listens; the balancers send this host's requests there unless backend says otherwise"},
	{Role: "web", Key: "workers", Type: OptCount, Min: 1, Max: 1024, Default: "2",
		Meaning: "gunicorn worker processes"},
	{Role: "web", Key: "wsgi", Type: OptWSGI, Default: "the package holding wsgi.py (required under supervisord and systemd)",
		Meaning: "the WSGI application gunicorn serves, e.g. shopsite.wsgi:application"},
	{Role: "web", Key: "python", Type: OptProgram, Default: "/usr/bin/python3",
		Meaning: "the Python that builds each release's virtualenv"},
	{Role: "web", Key: "gunicorn", Type: OptProgram, Presets: []string{ProcessDaemon}, Default: "the release's venv/bin/python -m gunicorn",
		Meaning: "the gunicorn program opsui starts when it runs the app server itself"},
	{Role: "web", Key: "program", Type: OptName, Presets: []string{ProcessSupervisord}, Default: "APP-web",
		Meaning: "the supervisord program that runs gunicorn"},
	{Role: "web", Key: "supervisor_conf", Type: OptPath, Presets: []string{ProcessSupervisord}, Default: DefaultSupervisorConf,
		Meaning: "the supervisord configuration supervisorctl is given"},
	{Role: "web", Key: "unit", Type: OptUnit, Presets: []string{ProcessSystemd}, Default: "APP-web.service",
		Meaning: "the systemd unit that runs gunicorn"},
	{Role: "web", Key: "backend", Type: OptListen, Default: "bind, else the host's address on port 8000",
		Meaning: "the address the balancers send this host's requests to"},
	{Role: "web", Key: "server", Type: OptName, Default: "the host's name",
		Meaning: "the host's server name in the HAProxy backend"},

	{Role: "lb", Key: "preset", Type: OptChoice, Choices: []string{BalancerNginx, BalancerHAProxy, BalancerCustom},
		Default: "nginx when upstream_file is set, custom when drain is set, else the balancer is not drained",
		Meaning: "how opsui takes web hosts out of rotation during a deploy"},
	{Role: "lb", Key: "upstream_file", Type: OptPath, Presets: []string{BalancerNginx}, Default: "(required)",
		Meaning: "the nginx file holding the app's upstream block, which opsui rewrites"},
	{Role: "lb", Key: "upstream", Type: OptName, Presets: []string{BalancerNginx}, Default: "the app's name",
		Meaning: "the name of the nginx upstream block"},
	{Role: "lb", Key: "reload", Type: OptCommand, Presets: []string{BalancerNginx, BalancerHAProxy},
		Default: "nginx: nginx -t -q && nginx -s reload (with the role's sudo: true, both through sudo with /usr/sbin/nginx); haproxy: none (opsui maintenance needs one)",
		Meaning: "checks the configuration, then reloads the balancer gracefully: nginx after the upstream or maintenance file changed, HAProxy after the maintenance files changed (e.g. haproxy -c -q -f /etc/haproxy/haproxy.cfg && sudo /usr/bin/systemctl reload haproxy.service)"},
	{Role: "lb", Key: "admin_socket", Type: OptPath, Presets: []string{BalancerHAProxy}, Default: "(required)",
		Meaning: "HAProxy's runtime API socket (stats socket ... level admin)"},
	{Role: "lb", Key: "backend", Type: OptName, Presets: []string{BalancerHAProxy}, Default: "the app's name",
		Meaning: "the HAProxy backend holding the web hosts"},
	{Role: "lb", Key: "drain_wait", Type: OptSeconds, Presets: []string{BalancerNginx, BalancerHAProxy}, Default: "1",
		Meaning: "seconds to wait after a change so requests in flight finish"},
	{Role: "lb", Key: "maintenance_file", Type: OptPath, Presets: []string{BalancerNginx, BalancerHAProxy}, Default: "(required by opsui maintenance)",
		Meaning: "the file opsui writes for maintenance mode, its message in PATH.message: nginx includes it in the app's server block (include PATH;), HAProxy reads it as the map of an http-request return rule (see the README); while on, every request gets 503 with the message and Retry-After"},
	{Role: "lb", Key: "drain", Type: OptCommand, Presets: []string{BalancerCustom}, Default: "(required)",
		Meaning: "takes the backends in $OPSUI_BACKENDS out of rotation"},
	{Role: "lb", Key: "enable", Type: OptCommand, Presets: []string{BalancerCustom}, Default: "(required)",
		Meaning: "puts the backends in $OPSUI_BACKENDS back in rotation"},

	{Role: "cache", Key: "kind", Type: OptChoice, Choices: []string{CacheMemcached, CacheRedis},
		Default: "redis when the service's name says redis, else memcached", Meaning: "the cache server"},
	{Role: "cache", Key: "address", Type: OptAddress, Default: "127.0.0.1",
		Meaning: "where the host reaches its cache server"},
	{Role: "cache", Key: "port", Type: OptPort, Default: "11211 (memcached), 6379 (redis)",
		Meaning: "the cache server's port"},
	{Role: "cache", Key: "db", Type: OptCount, Min: 0, Max: 1 << 20, Presets: []string{CacheRedis}, Default: "every database (FLUSHALL)",
		Meaning: "the Redis database a flush empties"},
	{Role: "cache", Key: "client", Type: OptChoice, Choices: []string{"nc", "python3", "redis-cli"}, Default: "the first the host has",
		Meaning: "how the host talks to the server: nc or python3 (memcached), redis-cli or python3 (redis)"},
	{Role: "cache", Key: "password_env", Type: OptEnvVar, Default: "no password",
		Meaning: "the variable of the operator's environment holding the password (redis, or a custom flush)"},
	{Role: "cache", Key: "flush", Type: OptCommand, Default: "the built-in flush of the kind",
		Meaning: "replaces the flush command"},

	{Role: RoleWorker, Key: "command", Type: OptWorkerCommand, Default: "(required)",
		Meaning: "the worker's program and arguments, run in the current release with its virtualenv first on PATH and shared/.env loaded"},
	{Role: RoleWorker, Key: "processes", Type: OptCount, Min: 1, Max: maxWorkerProcesses, Default: "1",
		Meaning: "worker processes on the host (supervisord's numprocs; systemd: 1)"},
	{Role: RoleWorker, Key: "stop_timeout", Type: OptCount, Min: 1, Max: maxWorkerStopTimeout, Default: "30",
		Meaning: "seconds a worker has after TERM to finish its task before SIGKILL"},
	{Role: RoleWorker, Key: "program", Type: OptName, Presets: []string{ProcessSupervisord}, Default: "APP-worker",
		Meaning: "the supervisord program that runs the workers"},
	{Role: RoleWorker, Key: "supervisor_conf", Type: OptPath, Presets: []string{ProcessSupervisord}, Default: DefaultSupervisorConf,
		Meaning: "the supervisord configuration supervisorctl is given"},
	{Role: RoleWorker, Key: "unit", Type: OptUnit, Presets: []string{ProcessSystemd}, Default: "APP-worker.service",
		Meaning: "the systemd unit that runs the worker"},

	{Role: "db", Key: "host", Type: OptHostOrDir, Default: "the client's default",
		Meaning: "where the health check's pg_isready or mysqladmin ping connects"},
	{Role: "db", Key: "port", Type: OptPort, Default: "5432 (postgresql), 3306 (mysql)",
		Meaning: "the port pg_isready or mysqladmin ping connects to"},
}

// KnownRoles are the roles whose options opsui reads; any other role is
// the fleet's own and has only the options every role has.
var KnownRoles = []string{"web", RoleWorker, "lb", "cache", "db"}

// LookupOption returns the option key of role.
func LookupOption(role, key string) (Option, bool) {
	for _, o := range Options {
		if o.Key == key && (o.Role == role || o.Role == "") {
			return o, true
		}
	}
	return Option{}, false
}

// RoleOptions returns the option keys role has, sorted.
func RoleOptions(role string) []string {
	var out []string
	for _, o := range Options {
		if o.Role == role || o.Role == "" {
			out = append(out, o.Key)
		}
	}
	slices.Sort(out)
	return out
}

var (
	// wsgiName is a web role's wsgi option: a module, with an attribute.
	wsgiName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.]*(:[A-Za-z_][A-Za-z0-9_]*)?$`)
	// programRe is one word naming a program.
	programRe = regexp.MustCompile(`^[A-Za-z0-9_./+-]+$`)
	// secondsRe is a non-negative decimal number.
	secondsRe = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)
)

// OptionProblem says what is wrong with option key = value of role: an
// option opsui does not read (with the closest known one), or a value not
// of the option's type; "" when there is nothing wrong. Names and addresses
// go into nginx's and HAProxy's configuration and runtime API lines,
// supervisord's and systemd's configuration and command lines: their
// types keep them to plain characters.
func OptionProblem(role, key, value string) string {
	o, ok := LookupOption(role, key)
	if !ok {
		known := RoleOptions(role)
		if c := Closest(key, known); c != "" {
			return fmt.Sprintf("unknown option %q of the %s role (did you mean %q?)", key, role, c)
		}
		if !slices.Contains(KnownRoles, role) {
			return fmt.Sprintf("unknown option %q: %s is a role of the fleet's own, and opsui reads only %s of it", key, role, strings.Join(known, ", "))
		}
		return fmt.Sprintf("unknown option %q of the %s role (its options: %s)", key, role, strings.Join(known, ", "))
	}
	return o.valueProblem(value)
}

func (o Option) valueProblem(v string) string {
	key := o.Key
	switch o.Type {
	case OptCommand:
		if strings.TrimSpace(v) == "" {
			return fmt.Sprintf("%s is empty (a shell command run on the host)", key)
		}
	case OptName:
		if !ValidIdentifier(v) {
			return fmt.Sprintf("%s %q is not a name (use letters, digits, '.', '-' and '_', at most 64)", key, v)
		}
	case OptListen:
		if !ValidListenAddress(v) {
			return fmt.Sprintf("%s %q is not an address (want host:port, [ipv6]:port or unix:/path)", key, v)
		}
	case OptAddress:
		if !ValidAddress(v) {
			return fmt.Sprintf("%s %q is not an IP address or a DNS name", key, v)
		}
	case OptHostOrDir:
		if !ValidAddress(v) && !(path.IsAbs(v) && sudoWord.MatchString(v)) {
			return fmt.Sprintf("%s %q is not a host name, an IP address or an absolute socket directory", key, v)
		}
	case OptPath:
		if !path.IsAbs(v) || !sudoWord.MatchString(v) {
			return fmt.Sprintf("%s %q is not an absolute path of plain characters", key, v)
		}
	case OptProgram:
		if !programRe.MatchString(v) {
			return fmt.Sprintf("%s %q is not a program (an absolute path or a name, without spaces)", key, v)
		}
	case OptPort:
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != v {
			return fmt.Sprintf("%s %q is not a port (1-65535)", key, v)
		}
	case OptCount:
		if n, err := strconv.Atoi(v); err != nil || n < o.Min || n > o.Max {
			return fmt.Sprintf("%s %q is not a whole number from %d to %d", key, v, o.Min, o.Max)
		}
	case OptSeconds:
		if f, err := strconv.ParseFloat(v, 64); !secondsRe.MatchString(v) || err != nil || f > 3600 {
			return fmt.Sprintf("%s %q is not a number of seconds (0-3600)", key, v)
		}
	case OptChoice:
		if !slices.Contains(o.Choices, v) {
			return fmt.Sprintf("unknown %s %q%s", key, v, didYouMean(v, o.Choices))
		}
	case OptWSGI:
		if !wsgiName.MatchString(v) {
			return fmt.Sprintf("%s %q is not a module[:attribute] name (e.g. shopsite.wsgi:application)", key, v)
		}
	case OptUnit:
		if !ValidIdentifier(v) || !strings.HasSuffix(v, ".service") {
			return fmt.Sprintf("%s %q is not a service unit name (e.g. shop-web.service)", key, v)
		}
	case OptEnvVar:
		if !envVarRe.MatchString(v) {
			return fmt.Sprintf("%s %q is not an environment variable name", key, v)
		}
	case OptWorkerCommand:
		return WorkerCommandProblem(v)
	}
	return ""
}

// orList writes "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
