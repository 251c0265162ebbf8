package inventory

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Build is an app's build step: commands that run on the operator's
// machine, in a fresh directory holding the commit's tree (git archive),
// before the deploy takes its lock or touches a host. The tree they leave
// is the release every host receives, so wheels built once where the
// package index is reachable ship to hosts that cannot reach it.
//
// In the fleet file it is one command, a list of commands, or:
//
//	build:
//	  run:
//	    - pip wheel -r requirements.txt -w wheels
//	  timeout: 10m           # default 10m, at most 2h
//	  env: {PIP_NO_INPUT: "1"}
//
// Env holds plain values only. A secret of the app's secrets: reaches a
// build only when Secrets names it, as the variable it is set in
// (secrets: {PIP_INDEX_URL: pypi_url}); its value is resolved on the
// operator's machine, masked in the build's output and no part of the
// cache key (its name is). The commands also get COMMIT, RELEASE_ID, APP
// and ENV.
type Build struct {
	Run     []string          `yaml:"run" json:"run"`
	Timeout Duration          `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Secrets map[string]string `yaml:"secrets,omitempty" json:"secrets,omitempty"`
}

// Build defaults and bounds.
const (
	DefaultBuildTimeout = 10 * time.Minute
	maxBuildTimeout     = 2 * time.Hour
)

// BuildVars are the variables opsui gives every build command; a build's
// env: cannot set them.
var BuildVars = []string{"APP", "COMMIT", "ENV", "RELEASE_ID"}

// TimeoutOrDefault is how long the build may run.
func (b *Build) TimeoutOrDefault() time.Duration {
	if b.Timeout > 0 {
		return time.Duration(b.Timeout)
	}
	return DefaultBuildTimeout
}

// MarshalYAML writes the shortest form that reads back the same: one
// command as a string, commands alone as a list, else the mapping.
func (b Build) MarshalYAML() (any, error) {
	if b.Timeout == 0 && len(b.Env) == 0 && len(b.Secrets) == 0 {
		if len(b.Run) == 1 {
			return b.Run[0], nil
		}
		return b.Run, nil
	}
	type plain Build // without the method
	return plain(b), nil
}

// UnmarshalYAML reads the three forms; the walker has checked the shape
// and reported anything else with its position.
func (b *Build) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*b = Build{Run: []string{n.Value}}
		return nil
	case yaml.SequenceNode:
		var run []string
		if err := n.Decode(&run); err != nil {
			return err
		}
		*b = Build{Run: run}
		return nil
	}
	var m struct {
		Run     yaml.Node         `yaml:"run"`
		Timeout Duration          `yaml:"timeout"`
		Env     map[string]string `yaml:"env"`
		Secrets map[string]string `yaml:"secrets"`
	}
	if err := n.Decode(&m); err != nil {
		return err
	}
	*b = Build{Timeout: m.Timeout, Env: m.Env, Secrets: m.Secrets}
	switch m.Run.Kind {
	case yaml.ScalarNode:
		b.Run = []string{m.Run.Value}
	case yaml.SequenceNode:
		return m.Run.Decode(&b.Run)
	}
	return nil
}

var buildType = reflect.TypeOf(Build{})

// build checks an app's build: a command, a list of commands, or a
// mapping of run, timeout and env (plain values: a secret is refused here
// with the reason, not as a shape error).
func (w *walker) build(n *yaml.Node, path string) bool {
	switch n.Kind {
	case yaml.ScalarNode, yaml.SequenceNode:
		return w.commands(n, path)
	case yaml.MappingNode:
	default:
		w.problem(n, path, "build: wants a command, a list of commands, or run:/timeout:/env:, found %s", kindName(n))
		return false
	}
	// What cannot decode is taken out, after its problem is said: the
	// rest is still validated.
	fields := yamlFields(buildType)
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		w.pos[p] = v
		ok := false
		switch k.Value {
		case "run":
			ok = w.commands(v, p)
		case "timeout":
			ok = w.scalar(v, reflect.TypeOf(Duration(0)), p)
		case "env":
			ok = w.buildEnv(v, p)
		case "secrets":
			ok = w.buildSecrets(v, p)
		default:
			w.problem(k, p, "unknown field %q%s", k.Value, suggest(k.Value, fields))
		}
		if ok {
			kept = append(kept, k, v)
		}
	}
	n.Content = kept
	return true
}

// commands checks one command or a list of commands.
func (w *walker) commands(n *yaml.Node, path string) bool {
	if n.Kind == yaml.ScalarNode {
		return true
	}
	if n.Kind != yaml.SequenceNode {
		w.problem(n, path, "expected a command or a list of commands, found %s", kindName(n))
		return false
	}
	ok := true
	for i, c := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		w.pos[p] = c
		if c.Kind != yaml.ScalarNode {
			w.problem(c, p, "expected a command (a string), found %s", kindName(c))
			ok = false
		}
	}
	return ok
}

// buildEnv checks a build's env: a mapping of plain values.
func (w *walker) buildEnv(n *yaml.Node, path string) bool {
	if n.Kind != yaml.MappingNode {
		w.problem(n, path, "expected a mapping of variables, found %s", kindName(n))
		return false
	}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		w.pos[p] = k
		if v.Kind != yaml.ScalarNode {
			w.problem(v, p, "a build's env takes plain values only; give it a secret by name under the build's secrets: (VARIABLE: SECRET_NAME)")
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

// buildSecrets checks a build's secrets: a mapping of variable names to
// names of the app's secrets.
func (w *walker) buildSecrets(n *yaml.Node, path string) bool {
	if n.Kind != yaml.MappingNode {
		w.problem(n, path, "expected a mapping of variables to names of the app's secrets, found %s", kindName(n))
		return false
	}
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := join(path, k.Value)
		w.pos[p] = v
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			w.problem(v, p, "wants the name of a secret declared in the app's secrets:")
			continue
		}
		kept = append(kept, k, v)
	}
	n.Content = kept
	return true
}

// validateBuild adds the problems of app path p's build.
func validateBuild(p string, b *Build, secrets map[string]SecretSource, add func(path, format string, args ...any)) {
	if b == nil {
		return
	}
	p += ".build"
	if len(b.Run) == 0 {
		add(p+".run", "build has no command")
	}
	for i, c := range b.Run {
		switch {
		case strings.TrimSpace(c) == "":
			add(fmt.Sprintf("%s.run[%d]", p, i), "build command %d is empty", i+1)
		case strings.ContainsRune(c, 0):
			add(fmt.Sprintf("%s.run[%d]", p, i), "build command %d holds a NUL byte", i+1)
		}
	}
	switch t := time.Duration(b.Timeout); {
	case t < 0:
		add(p+".timeout", "timeout %s is negative", b.Timeout)
	case t > maxBuildTimeout:
		add(p+".timeout", "timeout %s is longer than %s", b.Timeout, maxBuildTimeout)
	}
	for _, k := range sortedKeys(b.Env) {
		switch {
		case !envKeyRe.MatchString(k):
			add(p+".env."+k, "invalid variable name %q (use letters, digits and _, not starting with a digit)", k)
		case slices.Contains(BuildVars, k):
			add(p+".env."+k, "%s is set by opsui for every build (%s)", k, strings.Join(BuildVars, ", "))
		case strings.ContainsRune(b.Env[k], 0):
			add(p+".env."+k, "the value of %s holds a NUL byte", k)
		}
	}
	for _, k := range sortedKeys(b.Secrets) {
		_, inEnv := b.Env[k]
		_, declared := secrets[b.Secrets[k]]
		switch {
		case !envKeyRe.MatchString(k):
			add(p+".secrets."+k, "invalid variable name %q (use letters, digits and _, not starting with a digit)", k)
		case slices.Contains(BuildVars, k):
			add(p+".secrets."+k, "%s is set by opsui for every build (%s)", k, strings.Join(BuildVars, ", "))
		case inEnv:
			add(p+".secrets."+k, "%s is also set in the build's env:", k)
		case !declared:
			add(p+".secrets."+k, "secret %q is not declared in the app's secrets:", b.Secrets[k])
		}
	}
}
