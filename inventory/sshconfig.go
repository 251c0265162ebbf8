package inventory

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kevinburke/ssh_config"
)

// SSHConfigOptions says how hosts imported from an ssh_config file are placed
// in the fleet.
type SSHConfigOptions struct {
	Env   string   // environment to give every imported host ("" = none)
	Roles []string // roles to give every imported host (none = unassigned)
}

// ParseSSHConfig reads an OpenSSH client config (name is the file name used in
// errors) and returns one host per concrete Host alias, in file order.
//
// Settings are resolved as ssh(1) does: the first value obtained for a keyword
// wins, and wildcard blocks such as "Host *" supply defaults. Only what the
// file sets is used: Port stays 0 and User empty when the file is silent.
// HostName may use the %h and %% tokens; ProxyJump none means no jump host.
//
// ParseSSHConfig reads nothing but r. Include directives are skipped, because
// the parser (github.com/kevinburke/ssh_config) would otherwise read the
// included files from the user's real ~/.ssh, or any absolute path, while
// decoding; hosts in included files must be imported from those files. Match
// blocks are skipped too: their conditions (local user, exec commands,
// canonical names) are only known when ssh runs.
//
// Errors are Problems naming the file and line; when there is any problem, no
// host is returned.
func ParseSSHConfig(name string, r io.Reader, opt SSHConfigOptions) ([]Host, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	ps := checkSSHOptions(opt)
	if line := firstLongLine(src, maxSSHLine); line > 0 {
		return nil, append(ps, Problem{File: name, Line: line, Column: 1, Msg: fmt.Sprintf("line longer than %d bytes", maxSSHLine)})
	}
	src, headers := sanitizeSSHConfig(src)
	cfg, err := ssh_config.DecodeBytes(src)
	if err != nil {
		return nil, append(ps, sshParseProblem(name, err))
	}
	if len(cfg.Hosts) != len(headers)+1 {
		// The scan in sanitizeSSHConfig and the library disagree on where
		// blocks start; line numbers of aliases would be wrong.
		return nil, append(ps, Problem{File: name, Msg: "internal error: cannot locate Host lines"})
	}
	imp := &sshImport{file: name, cfg: cfg, opt: opt, problems: ps}
	imp.index()
	imp.checkPorts()
	hosts := imp.hosts(headers)
	if len(imp.problems) > 0 {
		return nil, imp.problems
	}
	return hosts, nil
}

// checkSSHOptions reports invalid options.
func checkSSHOptions(opt SSHConfigOptions) Problems {
	var ps Problems
	if opt.Env != "" && !ValidEnvName(opt.Env) {
		ps = append(ps, Problem{Msg: fmt.Sprintf("import option: invalid environment name %q (use a-z, 0-9, - and _)", opt.Env)})
	}
	for _, r := range opt.Roles {
		if !ValidRole(r) {
			ps = append(ps, Problem{Msg: fmt.Sprintf("import option: invalid role name %q (use a-z, 0-9 and -)", r)})
		}
	}
	return ps
}

// maxSSHLine caps the length of an ssh_config line: the library's lexer takes
// time quadratic in it.
const maxSSHLine = 4096

// firstLongLine returns the 1-based number of the first line of src longer than
// limit bytes, or 0.
func firstLongLine(src []byte, limit int) int {
	for n := 1; len(src) > 0; n++ {
		i := bytes.IndexByte(src, '\n')
		if i < 0 {
			i = len(src)
		}
		if i > limit {
			return n
		}
		src = src[min(i+1, len(src)):]
	}
	return 0
}

// sshHeader is a Host or Match line of an ssh_config file.
type sshHeader struct {
	line  int  // 1-based
	match bool // a Match block, which is never applied
}

// sanitizeSSHConfig prepares src for the library, keeping line numbers: it
// blanks every Include line, replaces every Match line with "Host !*", a
// block that matches no host, and turns tabs in Host lines into spaces. It
// also returns the block headers in file order. Keywords are found as the
// library's lexer finds them: after leading blanks and carriage returns, up
// to a blank, '=' or carriage return; a line starting with '#' is a comment.
func sanitizeSSHConfig(src []byte) ([]byte, []sshHeader) {
	lines := bytes.Split(src, []byte("\n"))
	var headers []sshHeader
	for i, l := range lines {
		switch sshKeyword(l) {
		case "include":
			lines[i] = nil
		case "match":
			lines[i] = []byte("Host !*")
			headers = append(headers, sshHeader{line: i + 1, match: true})
		case "host":
			// ssh separates patterns by any blank, the library by spaces.
			lines[i] = bytes.ReplaceAll(l, []byte("\t"), []byte(" "))
			headers = append(headers, sshHeader{line: i + 1})
		}
	}
	return bytes.Join(lines, []byte("\n")), headers
}

// sshKeyword returns the lowercased keyword of an ssh_config line, or "" for
// a blank or comment line. It lowercases as the library does, so that the
// two agree on which lines are Host, Match and Include.
func sshKeyword(line []byte) string {
	line = bytes.TrimLeft(line, " \t\r")
	if len(line) == 0 || line[0] == '#' {
		return ""
	}
	if i := bytes.IndexAny(line, " \t=\r"); i >= 0 {
		line = line[:i]
	}
	return strings.ToLower(string(line))
}

// sshErrPos matches the "(line, col): msg" errors of the ssh_config library.
var sshErrPos = regexp.MustCompile(`^\((\d+), (\d+)\): (?s:(.*))$`)

// sshParseProblem turns a library parse error into a Problem with a position.
func sshParseProblem(file string, err error) Problem {
	p := Problem{File: file, Msg: strings.TrimSpace(err.Error())}
	if m := sshErrPos.FindStringSubmatch(p.Msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Column, _ = strconv.Atoi(m[2])
		p.Msg = strings.TrimPrefix(strings.TrimSpace(m[3]), "ssh_config: ")
	}
	return p
}

// sshImport turns a decoded config into hosts, collecting problems.
type sshImport struct {
	file     string
	cfg      *ssh_config.Config
	opt      SSHConfigOptions
	problems Problems
	badAddr  map[string]bool // reported address problems, by line and value
	// Blocks (indexes in cfg.Hosts) that may apply to a host: those naming
	// it plainly, and those with a wildcard or negation, which must be
	// matched. The index keeps a config of thousands of hosts fast.
	named map[string][]int
	wild  []int
}

// addf records a problem at the line of pos.
func (imp *sshImport) addf(pos ssh_config.Position, format string, args ...any) {
	imp.problems = append(imp.problems, Problem{File: imp.file, Line: pos.Line, Column: pos.Col, Msg: fmt.Sprintf(format, args...)})
}

// checkPorts reports every Port line that is not a port number. Like ssh, it
// checks all of them, not only those that apply to an imported host.
func (imp *sshImport) checkPorts() {
	for _, h := range imp.cfg.Hosts {
		for _, n := range h.Nodes {
			if kv, ok := n.(*ssh_config.KV); ok && strings.EqualFold(kv.Key, "Port") {
				if _, err := parseTCPPort(kv.Value); err != nil {
					imp.addf(kv.Pos(), "Port: %v", err)
				}
			}
		}
	}
}

// parseTCPPort parses a TCP port number, 1 to 65535.
func parseTCPPort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d out of range (1-65535)", n)
	}
	return n, nil
}

// hosts returns one host per concrete alias, first occurrence first.
func (imp *sshImport) hosts(headers []sshHeader) []Host {
	var hosts []Host
	seen := map[string]bool{}
	for i, block := range imp.cfg.Hosts[1:] {
		if headers[i].match {
			continue
		}
		for _, p := range block.Patterns {
			alias := p.String()
			if strings.ContainsAny(alias, "*?!") || seen[alias] {
				continue
			}
			seen[alias] = true
			if !ValidHostName(alias) {
				imp.addf(ssh_config.Position{Line: headers[i].line, Col: 1},
					"Host: invalid host name %q (use letters, digits, '.', '-' and '_')", alias)
				continue
			}
			hosts = append(hosts, imp.host(alias, headers[i].line))
		}
	}
	return hosts
}

// host resolves the settings of alias, declared at line.
func (imp *sshImport) host(alias string, line int) Host {
	h := Host{
		Name:    alias,
		Address: alias,
		Env:     imp.opt.Env,
		Roles:   slices.Clone(imp.opt.Roles),
	}
	set := imp.settings(alias)
	if kv := set["hostname"]; kv != nil {
		h.Address = expandHostName(kv.Value, alias)
		imp.checkAddress(kv.Pos(), "HostName %q is not a valid address (want an IP address or a DNS name)", h.Address)
	} else {
		imp.checkAddress(ssh_config.Position{Line: line, Col: 1}, "Host %q has no HostName and is not a valid address itself", alias)
	}
	if kv := set["port"]; kv != nil {
		h.Port, _ = parseTCPPort(kv.Value) // errors are reported by checkPorts
	}
	if kv := set["user"]; kv != nil {
		h.User = kv.Value
	}
	if kv := set["identityfile"]; kv != nil {
		h.IdentityFile = kv.Value
	}
	if kv := set["proxyjump"]; kv != nil && !strings.EqualFold(kv.Value, "none") {
		h.ProxyJump = kv.Value
	}
	if kv := set["forwardagent"]; kv != nil {
		h.ForwardAgent = strings.EqualFold(kv.Value, "yes")
	}
	return h
}

// checkAddress reports addr unless it is valid; each bad address is
// reported once per line, however many hosts it applies to.
func (imp *sshImport) checkAddress(pos ssh_config.Position, format, addr string) {
	if ValidAddress(addr) {
		return
	}
	key := fmt.Sprintf("%d\x00%s", pos.Line, addr)
	if imp.badAddr == nil {
		imp.badAddr = map[string]bool{}
	}
	if !imp.badAddr[key] {
		imp.badAddr[key] = true
		imp.addf(pos, format, addr)
	}
}

// index fills in named and wild.
func (imp *sshImport) index() {
	imp.named = map[string][]int{}
	for i, h := range imp.cfg.Hosts {
		if slices.ContainsFunc(h.Patterns, func(p *ssh_config.Pattern) bool { return strings.ContainsAny(p.String(), "*?!") }) {
			imp.wild = append(imp.wild, i)
			continue
		}
		for _, p := range h.Patterns {
			if a := p.String(); !slices.Contains(imp.named[a], i) {
				imp.named[a] = append(imp.named[a], i)
			}
		}
	}
}

// settings returns the line that sets each keyword (lowercased) for alias,
// as ssh obtains them: the first in file order among the blocks whose
// patterns match the alias.
func (imp *sshImport) settings(alias string) map[string]*ssh_config.KV {
	set := map[string]*ssh_config.KV{}
	blocks := append(slices.Clone(imp.named[alias]), imp.wild...)
	slices.Sort(blocks)
	for _, i := range blocks {
		h := imp.cfg.Hosts[i]
		if !h.Matches(alias) {
			continue
		}
		for _, n := range h.Nodes {
			if kv, ok := n.(*ssh_config.KV); ok {
				if k := strings.ToLower(kv.Key); set[k] == nil {
					set[k] = kv
				}
			}
		}
	}
	return set
}

// expandHostName expands the tokens ssh accepts in HostName: %h, the alias,
// and %%, a percent sign. Other tokens are left as written.
func expandHostName(v, alias string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+1 < len(v) && (v[i+1] == 'h' || v[i+1] == '%') {
			if v[i+1] == 'h' {
				b.WriteString(alias)
			} else {
				b.WriteByte('%')
			}
			i++
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
