// Package cache flushes the fleet's caches, memcached and Redis, through SSH:
// each cache host runs a command that talks to its server from the host
// itself, reports how many keys the server held before and after, and
// empties it.
//
// What a host flushes comes from its settings for the cache role
// (inventory.Fleet.SettingsFor), all optional:
//
//	service        "redis..." makes the kind redis; anything else memcached
//	options:
//	  kind         memcached or redis (overrides service)
//	  address      the server's address as the host reaches it (127.0.0.1)
//	  port         the server's port (11211 memcached, 6379 redis)
//	  db           redis: flush only this database (FLUSHDB) instead of all (FLUSHALL)
//	  password_env redis: the name of an environment variable of the
//	               operator's machine holding the password (AUTH)
//	  client       how the host talks to the server: nc or python3
//	               (memcached), redis-cli or python3 (redis); default: the
//	               first of them the host has
//	  flush        a shell command that replaces the built-in one
//
// A password is never part of the fleet file, the database or a command
// line: it is read from the operator's environment when the flush is
// planned and sent to the host on the SSH session's standard input, which
// the run's record does not keep. On the host the command reads it into
// OPSUI_CACHE_AUTH (redis-cli gets it as REDISCLI_AUTH), so it never shows
// in ps either.
//
// The built-in commands print the server's answers in sections, each opened
// by a line "## before", "## flush", "## crawl" (memcached) or "## after",
// and the package reads the counts from them: memcached's "STAT
// curr_items N", Redis's INFO keyspace ("dbN:keys=K,...") or a bare
// integer (DBSIZE). A custom flush command that prints the same sections
// gets its counts reported too; it runs with OPSUI_CACHE_KIND,
// OPSUI_CACHE_ADDRESS, OPSUI_CACHE_PORT and OPSUI_CACHE_DB set (and
// OPSUI_CACHE_AUTH with password_env).
package cache

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// Kind is the kind of cache server.
type Kind string

// The cache kinds.
const (
	Memcached Kind = "memcached"
	Redis     Kind = "redis"
)

// DefaultRole is the role whose hosts are flushed when none is named.
const DefaultRole = "cache"

// Default ports and address.
const (
	DefaultAddress       = "127.0.0.1"
	DefaultMemcachedPort = 11211
	DefaultRedisPort     = 6379
)

// Option keys read from the cache role's settings.
const (
	OptKind        = "kind"
	OptAddress     = "address"
	OptPort        = "port"
	OptDB          = "db"
	OptPasswordEnv = "password_env"
	OptClient      = "client"
	OptFlush       = "flush"
)

// Clients a host can talk to its server with.
const (
	ClientNC       = "nc"
	ClientRedisCLI = "redis-cli"
	ClientPython   = "python3"
)

// AllDBs is Spec.DB when every Redis database is flushed (FLUSHALL).
const AllDBs = -1

// Secret is a value that must never be printed: formatting it with any verb
// gives "[redacted]".
type Secret string

// String redacts the secret.
func (Secret) String() string { return "[redacted]" }

// GoString redacts the secret for %#v.
func (Secret) GoString() string { return `"[redacted]"` }

// MarshalText redacts the secret in JSON, YAML and the like.
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Spec is how one host's cache is flushed.
type Spec struct {
	Host    string
	Kind    Kind
	Address string
	Port    int
	// DB is the Redis database that FLUSHDB empties, or AllDBs for FLUSHALL.
	DB int
	// Client forces how the host talks to the server; empty picks the
	// first the host has.
	Client string
	// Custom replaces the built-in command (options.flush).
	Custom string
	// PasswordEnv names the operator's environment variable the password
	// came from; Password is its value, sent on standard input.
	PasswordEnv string
	Password    Secret
}

// Server describes what is flushed, e.g. "redis 127.0.0.1:6379 db 2".
func (s Spec) Server() string {
	d := fmt.Sprintf("%s %s", s.Kind, hostPort(s.Address, s.Port))
	if s.Kind == Redis && s.DB != AllDBs {
		d += fmt.Sprintf(" db %d", s.DB)
	}
	if s.Custom != "" {
		d += " (custom command)"
	}
	return d
}

func hostPort(addr string, port int) string {
	if strings.Contains(addr, ":") {
		return fmt.Sprintf("[%s]:%d", addr, port)
	}
	return fmt.Sprintf("%s:%d", addr, port)
}

// Plan returns the flush of each host from its settings for role
// (DefaultRole when empty), in the order of hosts. getenv looks up
// password_env on the operator's machine (os.Getenv in production). Every
// host's problems are reported at once; nothing is returned with them.
func Plan(f *inventory.Fleet, hosts []inventory.Host, role string, getenv func(string) string) ([]Spec, error) {
	if role == "" {
		role = DefaultRole
	}
	var errs []error
	specs := make([]Spec, 0, len(hosts))
	for _, h := range hosts {
		s, err := SpecFor(h.Name, f.SettingsFor(h, role), getenv)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", h.Name, err))
			continue
		}
		specs = append(specs, s)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("cache settings: %w", errors.Join(errs...))
	}
	return specs, nil
}

// SpecFor reads one host's flush from its cache role settings.
func SpecFor(host string, rs inventory.RoleSettings, getenv func(string) string) (Spec, error) {
	opt := func(k string) string { return strings.TrimSpace(rs.Options[k]) }
	s := Spec{Host: host, Kind: Memcached, Address: DefaultAddress, DB: AllDBs, Custom: strings.TrimSpace(rs.Options[OptFlush])}
	switch k := opt(OptKind); {
	case k != "":
		s.Kind = Kind(strings.ToLower(k))
		if s.Kind != Memcached && s.Kind != Redis {
			return Spec{}, fmt.Errorf("unknown cache kind %q (want memcached or redis)", k)
		}
	case strings.Contains(strings.ToLower(rs.Service), "redis"):
		s.Kind = Redis
	}
	if a := opt(OptAddress); a != "" {
		if !inventory.ValidAddress(a) {
			return Spec{}, fmt.Errorf("invalid cache address %q (want an IP address or a DNS name)", a)
		}
		s.Address = strings.Trim(a, "[]")
	}
	s.Port = DefaultMemcachedPort
	if s.Kind == Redis {
		s.Port = DefaultRedisPort
	}
	if p := opt(OptPort); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Spec{}, fmt.Errorf("invalid cache port %q (want 1-65535)", p)
		}
		s.Port = n
	}
	if d := opt(OptDB); d != "" {
		n, err := strconv.Atoi(d)
		switch {
		case s.Kind != Redis:
			return Spec{}, fmt.Errorf("option db is for redis, and the cache is %s", s.Kind)
		case err != nil || n < 0:
			return Spec{}, fmt.Errorf("invalid redis database %q (want a number from 0)", d)
		}
		s.DB = n
	}
	if c := opt(OptClient); c != "" {
		ok := []string{ClientNC, ClientPython}
		if s.Kind == Redis {
			ok = []string{ClientRedisCLI, ClientPython}
		}
		if !slices.Contains(ok, c) {
			return Spec{}, fmt.Errorf("unknown %s client %q (want %s)", s.Kind, c, strings.Join(ok, " or "))
		}
		s.Client = c
	}
	if env := opt(OptPasswordEnv); env != "" {
		if s.Kind != Redis && s.Custom == "" {
			return Spec{}, fmt.Errorf("password_env: the built-in memcached flush has no authentication (set options.flush)")
		}
		pw := getenv(env)
		switch {
		case pw == "":
			return Spec{}, fmt.Errorf("the cache password is read from $%s, which is not set here", env)
		case strings.ContainsAny(pw, "\n\r\x00"):
			return Spec{}, fmt.Errorf("the cache password in $%s holds a line break or NUL", env)
		}
		s.PasswordEnv, s.Password = env, Secret(pw)
	}
	return s, nil
}
