package inventory

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

// AnsibleOptions says which groups of an Ansible inventory are environments.
type AnsibleOptions struct {
	// EnvGroups names the groups that are environments; when empty, a group is an environment
	// if its name is one of production, prod, staging, stage, dev, development, test, testing, qa, uat,
	// or is listed in KnownEnvs.
	EnvGroups []string
	KnownEnvs []string
}

// isEnv reports whether group is an environment. Names compare without case.
func (o AnsibleOptions) isEnv(group string) bool {
	has := func(list []string) bool {
		return slices.ContainsFunc(list, func(s string) bool { return strings.EqualFold(s, group) })
	}
	if len(o.EnvGroups) > 0 {
		return has(o.EnvGroups)
	}
	switch strings.ToLower(group) {
	case "production", "prod", "staging", "stage", "dev", "development", "test", "testing", "qa", "uat":
		return true
	}
	return has(o.KnownEnvs)
}

// Limits that keep a hostile inventory from exhausting memory: how many
// hosts one pattern may expand to, how many host entries a file may hold and
// how deep groups may nest.
const (
	maxAnsibleRange   = 10000
	maxAnsibleEntries = 100000
	maxAnsibleDepth   = 64
)

// ParseAnsibleINI reads an Ansible INI inventory: groups become roles or
// environments. Name is the file name used in errors.
//
// A group that is an environment (see AnsibleOptions) sets the Env of its
// hosts; any other group becomes a role, its name lowercased with characters
// outside [a-z0-9-] replaced by '-'. The groups all and ungrouped are neither.
// Membership flows down [group:children]. The connection variables
// ansible_host, ansible_port, ansible_user and ansible_ssh_private_key_file
// (and their older ansible_ssh_* spellings) are read from host lines and
// [group:vars]; as in Ansible, host variables win over group variables, and a
// child group's over its parent's. Other variables are ignored. Host lines
// may use ranges (web[01:03], db[a:c], app[1:9:2]) and a ":port" suffix. As
// in Ansible, every group must be declared by a [group] or [group:children]
// section, and an unquoted '#' starts a comment on host lines.
//
// Hosts are returned in order of first appearance, and so are environments.
// Errors are Problems naming the file and line; when there is any problem,
// nothing is returned.
func ParseAnsibleINI(name string, r io.Reader, opt AnsibleOptions) ([]Host, []Environment, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", name, err)
	}
	p := &ansibleParser{file: name, opt: opt, groups: map[string]*ansibleGroup{}, hosts: map[string]*ansibleHost{}}
	p.parse(string(src))
	if p.findCycles() {
		return nil, nil, p.problems
	}
	hosts := p.resolve()
	if len(p.problems) > 0 {
		return nil, nil, p.problems
	}
	return hosts, p.environments(), nil
}

// ansibleParser holds what has been read of an inventory.
type ansibleParser struct {
	file     string
	opt      AnsibleOptions
	groups   map[string]*ansibleGroup
	gorder   []*ansibleGroup
	hosts    map[string]*ansibleHost
	horder   []*ansibleHost
	entries  int // host entries read, ranges expanded
	problems Problems
}

// ansibleGroup is a group and what the inventory says of it.
type ansibleGroup struct {
	name      string
	index     int    // order of first appearance
	line      int    // line of first appearance
	declared  bool   // by a [group] or [group:children] section
	env, role string // at most one is set
	children  []ansibleRef
	parents   []*ansibleGroup
	vars      ansibleVars
	depth     int             // 0 for all, else 1 + the deepest parent's
	ancestors []*ansibleGroup // itself, then the ancestors of each parent
}

// ansibleHost is a host and the groups that list it.
type ansibleHost struct {
	name   string
	line   int          // first line listing the host
	groups []ansibleRef // groups listing the host, with the line doing it
	vars   ansibleVars
}

// ansibleRef is a group named at a line.
type ansibleRef struct {
	name string
	line int
}

// ansibleVars holds the connection variables opsui reads, by canonical name
// (ansible_host, ansible_port, ansible_user, ansible_ssh_private_key_file).
type ansibleVars map[string]string

// addf records a problem at line.
func (p *ansibleParser) addf(line int, format string, args ...any) {
	p.problems = append(p.problems, Problem{File: p.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// ansibleSectionRe and ansibleChildRe match a section header and a line of
// a children section as Ansible does.
var (
	ansibleSectionRe = regexp.MustCompile(`^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$`)
	ansibleChildRe   = regexp.MustCompile(`^([^:\]\s]+)\s*(?:#.*)?$`)
)

// parse reads the inventory line by line.
func (p *ansibleParser) parse(src string) {
	group, kind := p.group("ungrouped", 1), "hosts"
	for i, text := range strings.Split(strings.TrimPrefix(src, "\ufeff"), "\n") {
		line := i + 1
		text = strings.TrimSpace(text)
		switch {
		case text == "" || text[0] == '#' || text[0] == ';':
		case text[0] == '[':
			m := ansibleSectionRe.FindStringSubmatch(text)
			switch {
			case m == nil:
				p.addf(line, "malformed section header %q (want [group], [group:vars] or [group:children])", text)
				kind = "" // skip the section rather than misfile its lines
			case m[2] != "" && m[2] != "vars" && m[2] != "children":
				p.addf(line, "unknown section type %q in %q (want vars or children)", m[2], text)
				kind = ""
			default:
				group, kind = p.group(m[1], line), m[2]
				if kind == "" {
					kind = "hosts"
				}
				group.declared = group.declared || kind != "vars"
			}
		case kind == "hosts":
			p.hostLine(group, text, line)
		case kind == "vars":
			p.varLine(group, text, line)
		case kind == "children":
			p.childLine(group, text, line)
		}
	}
	for _, g := range p.gorder {
		if !g.declared {
			p.addf(g.line, "group %q is used but never declared (Ansible needs a [%s] or [%s:children] section)", g.name, g.name, g.name)
		}
	}
}

// group returns the group called name, creating it at line.
func (p *ansibleParser) group(name string, line int) *ansibleGroup {
	if g, ok := p.groups[name]; ok {
		return g
	}
	g := &ansibleGroup{name: name, index: len(p.gorder), line: line, vars: ansibleVars{}}
	p.groups[name] = g
	p.gorder = append(p.gorder, g)
	switch {
	case name == "all" || name == "ungrouped":
		g.declared = true
	case p.opt.isEnv(name):
		g.env = strings.ToLower(name)
		if !ValidEnvName(g.env) {
			p.addf(line, "group %q cannot name an environment (use a-z, 0-9, - and _)", name)
		}
	default:
		g.role = roleFromGroup(name)
		if !ValidRole(g.role) {
			p.addf(line, "group %q cannot be made a role name (got %q; use a-z, 0-9 and -)", name, g.role)
		}
	}
	return g
}

// roleFromGroup lowercases name and replaces characters outside [a-z0-9-]
// with '-': web_servers becomes web-servers.
func roleFromGroup(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, strings.ToLower(name))
}

// hostLine reads "pattern key=value ..." in a hosts section of g.
func (p *ansibleParser) hostLine(g *ansibleGroup, text string, line int) {
	toks, err := splitAnsibleLine(text)
	if err != nil {
		p.addf(line, "%v", err)
		return
	}
	if len(toks) == 0 {
		return
	}
	names, port, err := expandAnsibleHost(toks[0])
	if err != nil {
		p.addf(line, "host pattern %q: %v", toks[0], err)
	}
	vars := ansibleVars{}
	if port != "" {
		p.setVar(vars, "ansible_port", port, line)
	}
	for _, t := range toks[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok || k == "" {
			p.addf(line, "expected key=value after the host name, got %q", t)
			continue
		}
		p.setVar(vars, k, v, line)
	}
	if p.entries += len(names); p.entries > maxAnsibleEntries {
		if p.entries-len(names) <= maxAnsibleEntries { // report once
			p.addf(line, "more than %d host entries in the inventory", maxAnsibleEntries)
		}
		return
	}
	for _, n := range names {
		if !ValidHostName(n) {
			p.addf(line, "invalid host name %q (use letters, digits, '.', '-' and '_')", n)
			continue
		}
		p.addHost(n, g.name, line, vars)
	}
}

// addHost records that group lists host name at line, with vars.
func (p *ansibleParser) addHost(name, group string, line int, vars ansibleVars) {
	h, ok := p.hosts[name]
	if !ok {
		h = &ansibleHost{name: name, line: line, vars: ansibleVars{}}
		p.hosts[name] = h
		p.horder = append(p.horder, h)
	}
	h.groups = append(h.groups, ansibleRef{name: group, line: line})
	for k, v := range vars {
		h.vars[k] = v // a later line wins, as in Ansible
	}
}

// varLine reads "key = value" in a [group:vars] section.
func (p *ansibleParser) varLine(g *ansibleGroup, text string, line int) {
	k, v, ok := strings.Cut(text, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		p.addf(line, "expected key=value in [%s:vars], got %q", g.name, text)
		return
	}
	if ansibleVarName(k) == "" {
		return // not a connection variable: none of opsui's business
	}
	toks, err := splitAnsibleLine(v)
	if err != nil {
		p.addf(line, "%s: %v", k, err)
		return
	}
	p.setVar(g.vars, k, strings.Join(toks, " "), line)
}

// childLine reads a group name in a [group:children] section.
func (p *ansibleParser) childLine(g *ansibleGroup, text string, line int) {
	m := ansibleChildRe.FindStringSubmatch(text)
	if m == nil {
		p.addf(line, "expected one group name in [%s:children], got %q", g.name, text)
		return
	}
	child := p.group(m[1], line)
	g.children = append(g.children, ansibleRef{name: child.name, line: line})
	child.parents = append(child.parents, g)
}

// ansibleVarName returns the canonical name of a connection variable, or "".
func ansibleVarName(k string) string {
	switch k {
	case "ansible_host", "ansible_ssh_host":
		return "ansible_host"
	case "ansible_port", "ansible_ssh_port":
		return "ansible_port"
	case "ansible_user", "ansible_ssh_user":
		return "ansible_user"
	case "ansible_ssh_private_key_file", "ansible_private_key_file":
		return "ansible_ssh_private_key_file"
	}
	return ""
}

// setVar checks a connection variable set at line and stores it in vars.
func (p *ansibleParser) setVar(vars ansibleVars, k, v string, line int) {
	name := ansibleVarName(k)
	switch name {
	case "":
		return
	case "ansible_port":
		if _, err := parseTCPPort(v); err != nil {
			p.addf(line, "%s: %v", k, err)
			return
		}
	case "ansible_host":
		if !ValidAddress(v) {
			p.addf(line, "%s: %q is not a valid address (want an IP address or a DNS name)", k, v)
			return
		}
	}
	vars[name] = v
}

// findCycles reports every loop of [group:children] and whether there is one.
func (p *ansibleParser) findCycles() bool {
	const (
		unseen = iota
		active
		done
	)
	state := map[*ansibleGroup]int{}
	var stack []string
	found := false
	var visit func(g *ansibleGroup)
	visit = func(g *ansibleGroup) {
		state[g] = active
		stack = append(stack, g.name)
		for _, c := range g.children {
			child := p.groups[c.name]
			switch state[child] {
			case unseen:
				visit(child)
			case active:
				i := len(stack) - 1
				for stack[i] != child.name {
					i--
				}
				loop := append(append([]string(nil), stack[i:]...), child.name)
				p.addf(c.line, "group cycle in children: %s", strings.Join(loop, " -> "))
				found = true
			}
		}
		stack = stack[:len(stack)-1]
		state[g] = done
	}
	for _, g := range p.gorder {
		if state[g] == unseen {
			visit(g)
		}
	}
	return found
}

// climb fills in depth and ancestors of g; the groups must form no cycle.
func (p *ansibleParser) climb(g *ansibleGroup) {
	if g.ancestors != nil {
		return
	}
	g.ancestors = []*ansibleGroup{g}
	if g.name != "all" {
		g.depth = 1
	}
	for _, parent := range g.parents {
		p.climb(parent)
		g.depth = max(g.depth, parent.depth+1)
	}
	if g.depth > maxAnsibleDepth {
		if g.depth == maxAnsibleDepth+1 {
			p.addf(g.line, "group %q nests more than %d groups deep", g.name, maxAnsibleDepth)
		}
		return
	}
	for _, parent := range g.parents {
		for _, a := range parent.ancestors {
			if !slices.Contains(g.ancestors, a) {
				g.ancestors = append(g.ancestors, a)
			}
		}
	}
}

// resolve turns the hosts read into inventory hosts.
func (p *ansibleParser) resolve() []Host {
	for _, g := range p.gorder {
		p.climb(g)
	}
	var hosts []Host
	for _, ah := range p.horder {
		hosts = append(hosts, p.host(ah))
	}
	return hosts
}

// host returns the inventory host for ah, placed by its groups.
func (p *ansibleParser) host(ah *ansibleHost) Host {
	h := Host{Name: ah.name}
	var envGroup string
	var groups []*ansibleGroup
	for _, ref := range ah.groups {
		for _, g := range p.groups[ref.name].ancestors {
			switch {
			case g.env != "" && h.Env == "":
				h.Env, envGroup = g.env, g.name
			case g.env != "" && g.env != h.Env && envGroup != "":
				p.addf(ref.line, "host %q is in two environment groups: %q and %q", ah.name, envGroup, g.name)
				envGroup = "" // one report per host
			case g.role != "" && !slices.Contains(h.Roles, g.role):
				h.Roles = append(h.Roles, g.role)
			}
			groups = append(groups, g)
		}
	}
	v := p.effectiveVars(ah, groups)
	h.Address = v["ansible_host"]
	if h.Address == "" {
		h.Address = ah.name
		if !ValidAddress(ah.name) {
			p.addf(ah.line, "host %q has no ansible_host and is not a valid address itself", ah.name)
		}
	}
	h.Port, _ = parseTCPPort(v["ansible_port"]) // checked by setVar; 0 when unset
	h.User = v["ansible_user"]
	h.IdentityFile = v["ansible_ssh_private_key_file"]
	return h
}

// effectiveVars merges the variables of all, of the host's groups and of the
// host, in Ansible's order: all, then groups by depth and name, then the host.
func (p *ansibleParser) effectiveVars(h *ansibleHost, groups []*ansibleGroup) ansibleVars {
	v := ansibleVars{}
	best := map[string]*ansibleGroup{}
	if all, ok := p.groups["all"]; ok {
		groups = append(groups, all)
	}
	for _, g := range groups {
		for k, val := range g.vars {
			b := best[k]
			if b == nil || g.depth > b.depth || g.depth == b.depth && g.name > b.name {
				best[k], v[k] = g, val
			}
		}
	}
	for k, val := range h.vars {
		v[k] = val
	}
	return v
}

// environments returns the environment groups in order of first appearance.
func (p *ansibleParser) environments() []Environment {
	var envs []Environment
	seen := map[string]bool{}
	for _, g := range p.gorder {
		if g.env != "" && !seen[g.env] {
			seen[g.env] = true
			envs = append(envs, Environment{Name: g.env})
		}
	}
	return envs
}
