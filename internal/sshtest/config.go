package sshtest

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// sshdConfigLines returns the sshd_config lines shared by all of a host's
// starts; the host adds its ListenAddress and HostKey. Lines from WithConfig
// come first so that they win: sshd keeps the first value of most keywords.
func sshdConfigLines(o *options, name, authorizedKeys string) []string {
	lines := append([]string(nil), o.extra...)
	lines = append(lines,
		"PidFile none",
		"AuthorizedKeysFile "+quoteArg(authorizedKeys),
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"UsePAM no",
		"StrictModes no",
		"UseDNS no",
		"MaxStartups 1000",
		fmt.Sprintf("MaxSessions %d", o.maxSessions),
		"AcceptEnv LANG LC_*",
		"PrintMotd no",
		"PrintLastLog no",
		"X11Forwarding no",
		"Subsystem sftp internal-sftp",
		"LogLevel VERBOSE",
	)
	if line := setEnvLine(o.envs[name]); line != "" {
		lines = append(lines, line)
	}
	return lines
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// setEnvLine returns the SetEnv line for env, or "" when it is empty. sshd
// uses only the first SetEnv line, so all variables go on one.
func setEnvLine(env map[string]string) string {
	if len(env) == 0 {
		return ""
	}
	args := []string{"SetEnv"}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		args = append(args, quoteArg(k+"="+env[k]))
	}
	return strings.Join(args, " ")
}

// mergeEnv returns the variables of host name: WithEnv overridden by
// WithHostEnv.
func mergeEnv(o *options, name string) map[string]string {
	env := maps.Clone(o.env)
	if env == nil {
		env = make(map[string]string)
	}
	if o.hostEnv != nil {
		maps.Copy(env, o.hostEnv(name))
	}
	return env
}

// checkEnv reports a variable that sshd_config cannot carry.
func checkEnv(env map[string]string) error {
	for k, v := range env {
		if !envName.MatchString(k) {
			return fmt.Errorf("invalid environment variable name %q", k)
		}
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("environment variable %s: value contains a newline or NUL", k)
		}
	}
	return nil
}

// quoteArg quotes s as one argument of an OpenSSH config file, whose parser
// understands double quotes and backslash escapes of '"' and '\'.
func quoteArg(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
