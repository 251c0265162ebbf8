package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"

	"github.com/opsui/opsui/inventory"
)

// maxJumps bounds a ProxyJump chain, loops aside.
const maxJumps = 16

// defaultIdentities are the keys ssh(1) tries when no IdentityFile is set,
// in its order, among those present in ~/.ssh.
var defaultIdentities = []string{"id_ed25519", "id_ecdsa", "id_rsa"}

// SSHConfig is the user's OpenSSH client configuration and the local facts
// ResolveTarget takes defaults from.
type SSHConfig struct {
	Path      string // the file read; "" or a missing file: no configuration
	HomeDir   string // expands ~ and %d, and holds the default identity files (HomeDir())
	LocalUser string // the login user when neither the inventory nor the file names one
	cfg       *ssh_config.Config
}

// HomeDir is the one home directory opsui uses for ~/.ssh/config,
// known_hosts, the default identity files and ~ in IdentityFile: $HOME
// when set, else the passwd entry's. OpenSSH takes the passwd entry even
// when HOME differs; opsui follows $HOME so that a HOME set for CI, a
// container, sudo -E or a test finds its config, known_hosts and keys
// together. "" when there is none.
func HomeDir() string {
	if h := os.Getenv("HOME"); h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}

// LoadSSHConfig reads the OpenSSH client config at path (usually
// Options.SSHConfigPath); a missing file is an empty configuration, as for
// ssh(1). Include directives are followed. Match blocks other than "Match
// all" and "Match host" are skipped: their conditions are only known to a
// running ssh.
func LoadSSHConfig(path string) (SSHConfig, error) {
	c := SSHConfig{Path: path, HomeDir: HomeDir()}
	if u, err := user.Current(); err == nil {
		c.LocalUser = u.Username
	} else {
		c.LocalUser = os.Getenv("USER")
	}
	if path == "" {
		return c, nil
	}
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("ssh config: %w", err)
	}
	if c.cfg, err = ssh_config.DecodeBytes(skipMatchBlocks(src)); err != nil {
		return c, fmt.Errorf("ssh config %s: %w", path, err)
	}
	return c, nil
}

var matchLine = regexp.MustCompile(`(?im)^([ \t]*)match([ \t]*=?[ \t]*|[ \t]+)(.*)$`)

// skipMatchBlocks rewrites Match lines the parser cannot evaluate as a Host
// line that matches nothing, keeping line numbers; "Match host A,B" becomes
// "Host A B".
func skipMatchBlocks(src []byte) []byte {
	return matchLine.ReplaceAllFunc(src, func(line []byte) []byte {
		m := matchLine.FindSubmatch(line)
		fields := strings.Fields(strings.SplitN(string(m[3]), "#", 2)[0])
		switch {
		case len(fields) == 1 && strings.EqualFold(fields[0], "all"):
			return line
		case len(fields) == 2 && strings.EqualFold(fields[0], "host"):
			return []byte(string(m[1]) + "Host " + strings.ReplaceAll(fields[1], ",", " "))
		}
		return []byte(string(m[1]) + "Host !*")
	})
}

func (c SSHConfig) get(alias, key string) (string, error) {
	if c.cfg == nil {
		return "", nil
	}
	v, err := c.cfg.Get(alias, key)
	if err != nil {
		return "", fmt.Errorf("ssh config: %s for %s: %w", key, alias, err)
	}
	return v, nil
}

func (c SSHConfig) getAll(alias, key string) ([]string, error) {
	if c.cfg == nil {
		return nil, nil
	}
	v, err := c.cfg.GetAll(alias, key)
	if err != nil {
		return nil, fmt.Errorf("ssh config: %s for %s: %w", key, alias, err)
	}
	return v, nil
}

// ResolveTarget returns how to reach h: the inventory's address, port, user,
// identity file and ProxyJump, with ~/.ssh/config filling what the
// inventory leaves unset, as ssh(1) would with h.Address as the host
// argument (HostName, Port, User, IdentityFile, ProxyJump,
// GlobalKnownHostsFile, UserKnownHostsFile, HashKnownHosts), then ssh's
// defaults: port 22, the local user, and ~/.ssh/id_ed25519, id_ecdsa and
// id_rsa (those missing are skipped at login and named in its error).
// Agent forwarding comes from the inventory alone: ForwardAgent in
// ssh_config does not turn it on, so a fleet file says where the agent
// goes. Each ProxyJump hop
// ([user@]host[:port], comma-separated, outermost first) is resolved through
// the configuration in turn, the first one's own ProxyJump included.
func ResolveTarget(h inventory.Host, cfg SSHConfig) (Target, error) {
	alias := h.Address
	if alias == "" {
		alias = h.Name
	}
	t, err := cfg.endpoint(alias, h.User, h.Port, h.IdentityFile)
	if err != nil {
		return Target{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	t.Name = h.Name
	jump := h.ProxyJump
	if jump == "" {
		if jump, err = cfg.get(alias, "ProxyJump"); err != nil {
			return Target{}, fmt.Errorf("host %s: %w", h.Name, err)
		}
	}
	if t.Jumps, err = cfg.chain(jump, []string{alias}); err != nil {
		return Target{}, fmt.Errorf("host %s: %w", h.Name, err)
	}
	t.ForwardAgent = h.ForwardAgent
	return t, nil
}

// ResolveTargets resolves every host; on any failure it returns no targets
// and an error naming each host that failed.
func ResolveTargets(hosts []inventory.Host, cfg SSHConfig) ([]Target, error) {
	targets := make([]Target, 0, len(hosts))
	var errs []error
	for _, h := range hosts {
		t, err := ResolveTarget(h, cfg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets = append(targets, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return targets, nil
}

// endpoint resolves alias with the given user, port and identity file (zero:
// unset) into a target without jumps.
func (c SSHConfig) endpoint(alias, login string, port int, identity string) (Target, error) {
	hostname := alias
	if hn, err := c.get(alias, "HostName"); err != nil {
		return Target{}, err
	} else if hn != "" {
		if hostname, err = expandTokens(hn, map[byte]string{'h': alias, 'n': alias}); err != nil {
			return Target{}, fmt.Errorf("HostName: %w", err)
		}
	}
	if hostname == "" || strings.ContainsAny(hostname, " \t/") {
		return Target{}, fmt.Errorf("invalid host name %q", hostname)
	}
	if port == 0 {
		ps, err := c.get(alias, "Port")
		if err != nil {
			return Target{}, err
		}
		if port = 22; ps != "" {
			if port, err = strconv.Atoi(ps); err != nil || port < 1 || port > 65535 {
				return Target{}, fmt.Errorf("ssh config: invalid Port %q for %s", ps, alias)
			}
		}
	}
	if login == "" {
		u, err := c.get(alias, "User")
		if err != nil {
			return Target{}, err
		}
		if login = u; login == "" {
			login = c.LocalUser
		}
	}
	t := Target{Name: alias, Addr: net.JoinHostPort(hostname, strconv.Itoa(port)), User: login}
	tokens := map[byte]string{'d': c.HomeDir, 'u': c.LocalUser, 'h': hostname, 'n': alias, 'r': login, 'p': strconv.Itoa(port)}
	files := []string{identity}
	if identity == "" {
		var err error
		if files, err = c.getAll(alias, "IdentityFile"); err != nil {
			return Target{}, err
		}
	}
	for _, f := range files {
		if f == "" || strings.EqualFold(f, "none") {
			continue
		}
		p, err := c.expandPath(f, tokens)
		if err != nil {
			return Target{}, fmt.Errorf("IdentityFile %q: %w", f, err)
		}
		t.IdentityFiles = append(t.IdentityFiles, p)
	}
	if len(files) == 0 && c.HomeDir != "" {
		// All of them, present or not: a failed login lists what it tried.
		for _, name := range defaultIdentities {
			t.IdentityFiles = append(t.IdentityFiles, filepath.Join(c.HomeDir, ".ssh", name))
		}
	}
	if err := c.knownHosts(alias, tokens, &t); err != nil {
		return Target{}, err
	}
	return t, nil
}

// knownHosts fills t's known_hosts files from GlobalKnownHostsFile and
// UserKnownHostsFile (each a list of files; "none" is none), and
// HashKnownHosts.
func (c SSHConfig) knownHosts(alias string, tokens map[byte]string, t *Target) error {
	for _, key := range []string{"GlobalKnownHostsFile", "UserKnownHostsFile"} {
		v, err := c.get(alias, key)
		if err != nil {
			return err
		}
		for i, f := range strings.Fields(v) {
			if strings.EqualFold(f, "none") {
				continue
			}
			p, err := c.expandPath(f, tokens)
			if err != nil {
				return fmt.Errorf("%s %q: %w", key, f, err)
			}
			t.KnownHosts = append(t.KnownHosts, p)
			if key == "UserKnownHostsFile" && i == 0 {
				t.RecordKnownHosts = p // as ssh: new keys go to the first user file
			}
		}
	}
	hash, err := c.get(alias, "HashKnownHosts")
	if err != nil {
		return err
	}
	t.HashKnownHosts = strings.EqualFold(hash, "yes")
	return nil
}

// chain resolves a ProxyJump value into hops, outermost first. visiting
// holds the aliases being resolved, to detect loops.
func (c SSHConfig) chain(spec string, visiting []string) ([]Target, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || strings.EqualFold(spec, "none") {
		return nil, nil
	}
	var hops []Target
	for i, part := range strings.Split(spec, ",") {
		login, host, port, err := parseHop(part)
		if err != nil {
			return nil, err
		}
		for _, v := range visiting {
			if strings.EqualFold(v, host) {
				return nil, fmt.Errorf("ProxyJump loop: %s -> %s", strings.Join(visiting, " -> "), host)
			}
		}
		if i == 0 {
			// As ssh(1): the first hop is reached with its own ProxyJump;
			// later hops are reached through the earlier ones instead.
			sub, err := c.get(host, "ProxyJump")
			if err != nil {
				return nil, err
			}
			pre, err := c.chain(sub, append(visiting[:len(visiting):len(visiting)], host))
			if err != nil {
				return nil, err
			}
			hops = append(hops, pre...)
		}
		hop, err := c.endpoint(host, login, port, "")
		if err != nil {
			return nil, fmt.Errorf("ProxyJump %s: %w", host, err)
		}
		hops = append(hops, hop)
		if len(hops) > maxJumps {
			return nil, fmt.Errorf("ProxyJump chain longer than %d hops", maxJumps)
		}
	}
	return hops, nil
}

// parseHop splits one ProxyJump hop, [user@]host[:port] or
// ssh://[user@]host[:port], into its parts (port 0: unset).
func parseHop(s string) (login, host string, port int, err error) {
	orig := s
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "ssh://"); ok {
		s = strings.TrimSuffix(rest, "/")
	}
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		login, s = s[:i], s[i+1:]
	}
	host = s
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		var ps string
		if h, p, err := net.SplitHostPort(s); err == nil {
			host, ps = h, p
		} else {
			host = strings.Trim(s, "[]")
		}
		if ps != "" {
			if port, err = strconv.Atoi(ps); err != nil || port < 1 || port > 65535 {
				return "", "", 0, fmt.Errorf("ProxyJump %q: invalid port", strings.TrimSpace(orig))
			}
		}
	}
	if host == "" || strings.ContainsAny(host, " \t/@") {
		return "", "", 0, fmt.Errorf("ProxyJump %q: invalid host", strings.TrimSpace(orig))
	}
	return login, host, port, nil
}

// expandPath expands ~ and the tokens of path.
func (c SSHConfig) expandPath(path string, tokens map[byte]string) (string, error) {
	if path == "~" || strings.HasPrefix(path, "~/") {
		if c.HomeDir == "" {
			return "", errors.New("no home directory for ~")
		}
		path = c.HomeDir + path[1:]
	}
	return expandTokens(path, tokens)
}

// expandTokens replaces the %x tokens of s from tokens; %% is a percent sign
// and an unknown token is an error.
func expandTokens(s string, tokens map[byte]string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i++; i == len(s) {
			return "", fmt.Errorf("%q ends with a lone %%", s)
		}
		if s[i] == '%' {
			b.WriteByte('%')
			continue
		}
		v, ok := tokens[s[i]]
		if !ok {
			return "", fmt.Errorf("unsupported token %%%c in %q", s[i], s)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}
