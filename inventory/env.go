package inventory

import (
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvValue is one value of an app's environment: a plain value, or a
// reference to a secret (Secret names an entry of the app's secrets:
// block) that is resolved on the operator's machine at deploy time and is
// never stored. In a fleet file it is written `KEY: value` or
// `KEY: {secret: NAME}`.
type EnvValue struct {
	Value  string `json:"value,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// IsSecret reports whether the value is a secret reference.
func (v EnvValue) IsSecret() bool { return v.Secret != "" }

// String shows the value as opsui prints it: a secret only by its name.
func (v EnvValue) String() string {
	if v.IsSecret() {
		return SecretLabel(v.Secret)
	}
	return v.Value
}

// SecretLabel is how a secret is named wherever its value would be: in
// plans, output and error messages.
func SecretLabel(name string) string { return "‹secret " + name + "›" }

// MarshalYAML writes a plain value as a string, a secret as {secret: NAME}.
func (v EnvValue) MarshalYAML() (any, error) {
	if v.IsSecret() {
		return map[string]string{"secret": v.Secret}, nil
	}
	return v.Value, nil
}

// UnmarshalYAML reads `value` or `{secret: NAME}`; the walker has checked
// the shape and reported anything else with its position.
func (v *EnvValue) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*v = EnvValue{Value: n.Value}
		return nil
	case yaml.MappingNode:
		var m struct {
			Secret string `yaml:"secret"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		*v = EnvValue{Secret: m.Secret}
		return nil
	}
	return fmt.Errorf("line %d: an environment value is a string or {secret: NAME}", n.Line)
}

// SecretSource says where the operator's machine reads a secret at deploy
// time: exactly one of an environment variable of opsui's own process, a
// file that only its owner may read (0600 or stricter), or a command whose
// standard output is the value (run as `sh -c COMMAND`, killed after
// Timeout). None of them is a secret itself.
type SecretSource struct {
	Env     string   `yaml:"env,omitempty" json:"env,omitempty"`
	File    string   `yaml:"file,omitempty" json:"file,omitempty"`
	Command string   `yaml:"command,omitempty" json:"command,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
}

// DefaultSecretTimeout bounds a secret command that does not say.
const DefaultSecretTimeout = 10 * time.Second

// Kind names the source: env, file or command.
func (s SecretSource) Kind() string {
	switch {
	case s.Env != "":
		return "env"
	case s.File != "":
		return "file"
	case s.Command != "":
		return "command"
	}
	return ""
}

// EnvFor returns the environment app gets on host h: the app's env:,
// overlaid with env_per_environment for the host's environment, then
// env_per_host for the host: the most specific wins.
func (a App) EnvFor(h Host) map[string]EnvValue {
	out := map[string]EnvValue{}
	for _, m := range []map[string]EnvValue{a.Env, a.EnvPerEnvironment[h.Env], a.EnvPerHost[h.Name]} {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// HasEnv reports whether the app declares any environment.
func (a App) HasEnv() bool {
	return len(a.Env) > 0 || len(a.EnvPerEnvironment) > 0 || len(a.EnvPerHost) > 0
}

// EnvKeys returns the keys of env, sorted.
func EnvKeys[V any](env map[string]V) []string {
	ks := make([]string, 0, len(env))
	for k := range env {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

var (
	envKeyRe     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	secretNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// reservedEnv are names the app's environment may not set: the variables
// opsui gives every stage, and those the shell that loads shared/.env
// reads itself (a PATH or IFS from the fleet would change what every
// recipe runs).
var reservedEnv = []string{"RELEASE_DIR", "RELEASE_ID", "COMMIT", "BRANCH", "DEPLOY_TO", "SHARED_DIR", "ROLE", "HOST", "ENV",
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "PWD", "OLDPWD", "IFS", "PS4", "BASH_ENV", "CDPATH", "SHELLOPTS"}

// EnvKeyProblem says what is wrong with an environment key, or "".
func EnvKeyProblem(k string) string {
	switch {
	case !envKeyRe.MatchString(k):
		return fmt.Sprintf("invalid environment key %q (use letters, digits and _, not starting with a digit)", k)
	case slices.Contains(reservedEnv, k), strings.HasPrefix(k, "OPSUI_"), strings.HasPrefix(k, "LD_"):
		return fmt.Sprintf("environment key %q is reserved (opsui sets it, or the shell that loads shared/.env reads it)", k)
	}
	return ""
}

// validateEnv checks an app's environment and secret sources.
func validateEnv(p string, a App, envs map[string]bool, hostNames func(string) bool, add func(path, format string, args ...any)) {
	used := map[string]bool{}
	check := func(mp string, m map[string]EnvValue) {
		for _, k := range EnvKeys(m) {
			v, kp := m[k], mp+"."+k
			if msg := EnvKeyProblem(k); msg != "" {
				add(kp, "%s", msg)
			}
			switch {
			case v.IsSecret():
				used[v.Secret] = true
				if _, ok := a.Secrets[v.Secret]; !ok {
					add(kp, "secret %q is not declared in the app's secrets: (declare where it is read from: env, file or command)", v.Secret)
				}
			case strings.ContainsRune(v.Value, 0):
				add(kp, "value of %s holds a NUL byte", k)
			}
		}
	}
	check(p+".env", a.Env)
	if a.Build != nil {
		for _, n := range a.Build.Secrets { // build.go: a secret given to the build by name
			used[n] = true
		}
	}
	for _, e := range EnvKeys(a.EnvPerEnvironment) {
		if !envs[e] {
			add(p+".env_per_environment."+e, "unknown environment %q (declare it under environments:)", e)
		}
		check(p+".env_per_environment."+e, a.EnvPerEnvironment[e])
	}
	for _, h := range EnvKeys(a.EnvPerHost) {
		if !hostNames(h) {
			add(p+".env_per_host."+h, "unknown host %q", h)
		}
		check(p+".env_per_host."+h, a.EnvPerHost[h])
	}
	for _, n := range EnvKeys(a.Secrets) {
		s, sp := a.Secrets[n], p+".secrets."+n
		if !secretNameRe.MatchString(n) {
			add(sp, "invalid secret name %q (use letters, digits, '.', '-' and '_')", n)
		}
		set := 0
		for _, v := range []string{s.Env, s.File, s.Command} {
			if v != "" {
				set++
			}
		}
		switch {
		case set != 1:
			add(sp, "secret %s: give exactly one of env, file or command", n)
		case s.Env != "" && !envKeyRe.MatchString(s.Env):
			add(sp+".env", "secret %s: %q is not an environment variable name", n, s.Env)
		case s.File != "" && !path.IsAbs(s.File) && !strings.HasPrefix(s.File, "~/"):
			add(sp+".file", "secret %s: file %q is not an absolute path (or ~/...)", n, s.File)
		}
		if s.Timeout != 0 && s.Command == "" {
			add(sp+".timeout", "secret %s: timeout applies to a command only", n)
		}
		if !used[n] {
			add(sp, "secret %s is declared but no env value (nor the build's secrets:) uses it", n)
		}
	}
}
