package inventory

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Runbook is a named command of the fleet file's `runbooks:` (the wiki
// page of commands, one keypress away): what it runs, on which roles'
// hosts, in which environments, whether it asks first, and an optional
// console key. It lives in the fleet file, not an operator's config, so
// a team sharing one store shares its runbooks.
type Runbook struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`
	// Run is the shell command, run as an exec is, on every host.
	Run string `yaml:"run" json:"run"`
	// Roles limit the runbook to hosts carrying one of them; empty means
	// every host of the chosen environment.
	Roles []string `yaml:"roles,omitempty" json:"roles,omitempty"`
	// Envs limit the environments it may run in; empty means any.
	Envs []string `yaml:"envs,omitempty" json:"envs,omitempty"`
	// Confirm asks yes/no before it runs, even outside a protected
	// environment (where the environment's name is asked anyway).
	Confirm bool     `yaml:"confirm,omitempty" json:"confirm,omitempty"`
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// Key runs it from the console's fleet view: one character
	// ("W"), ctrl+LETTER, alt+KEY or f1-f12. The console refuses a key
	// its own key table uses (ui.RunbookKeyConflicts).
	Key string `yaml:"key,omitempty" json:"key,omitempty"`
}

// Label is how a run of the runbook is recorded and shown: "runbook NAME".
func (r Runbook) Label() string { return "runbook " + r.Name }

// Runbook returns the runbook called name.
func (f *Fleet) Runbook(name string) (Runbook, bool) {
	i := slices.IndexFunc(f.Runbooks, func(r Runbook) bool { return r.Name == name })
	if i < 0 {
		return Runbook{}, false
	}
	return f.Runbooks[i], true
}

// AllowsEnv reports whether the runbook may run in env.
func (r Runbook) AllowsEnv(env string) bool {
	return len(r.Envs) == 0 || slices.Contains(r.Envs, env)
}

// Applies reports whether the runbook runs on h (one of its roles).
func (r Runbook) Applies(h Host) bool {
	return len(r.Roles) == 0 || slices.ContainsFunc(r.Roles, h.HasRole)
}

var (
	runbookNameRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)
	fnKeyRe       = regexp.MustCompile(`^f([1-9]|1[0-2])$`)
)

// ValidRunbookKey reports why key cannot be a runbook's key, "" when it
// can: one printable character, ctrl+LETTER, alt+KEY or f1-f12, in the
// spelling of the console's key table.
func ValidRunbookKey(key string) string {
	const want = "want one character (W), ctrl+LETTER, alt+KEY or f1-f12"
	if key == "" {
		return "empty key (" + want + ")"
	}
	if fnKeyRe.MatchString(key) {
		return ""
	}
	if rest, ok := strings.CutPrefix(key, "ctrl+"); ok {
		if len(rest) == 1 && rest[0] >= 'a' && rest[0] <= 'z' {
			if rest == "c" {
				return "ctrl+c always quits"
			}
			return ""
		}
		return fmt.Sprintf("invalid key %q (%s)", key, want)
	}
	rest, _ := strings.CutPrefix(key, "alt+")
	if utf8.RuneCountInString(rest) == 1 {
		r, _ := utf8.DecodeRuneInString(rest)
		if unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return ""
		}
	}
	return fmt.Sprintf("invalid key %q (%s)", key, want)
}

// validateRunbooks adds the problems of the fleet file's runbooks: a
// name that is no identifier or is taken twice, no command, a role no
// host or role default knows, an environment the fleet does not declare,
// a key that is invalid or another runbook's.
func validateRunbooks(f *Fleet, add func(path, format string, args ...any)) {
	envs := map[string]bool{}
	for _, e := range f.Environments {
		envs[e.Name] = true
	}
	roles := map[string]bool{}
	for r := range f.Roles {
		roles[r] = true
	}
	for _, h := range f.Hosts {
		for _, r := range h.Roles {
			roles[r] = true
		}
	}
	names := map[string]int{}
	keys := map[string]string{}
	for i, rb := range f.Runbooks {
		p := fmt.Sprintf("runbooks[%d]", i)
		switch first, dup := names[rb.Name]; {
		case rb.Name == "":
			add(p+".name", "a runbook needs a name")
		case !runbookNameRe.MatchString(rb.Name):
			add(p+".name", "invalid runbook name %q (a-z, 0-9, - and _, starting with a letter)", rb.Name)
		case dup:
			add(p+".name", "duplicate runbook %q (first defined at runbooks[%d])", rb.Name, first)
		default:
			names[rb.Name] = i
		}
		if strings.TrimSpace(rb.Run) == "" {
			add(p+".run", "runbook %q has no command to run", rb.Name)
		}
		for j, r := range rb.Roles {
			if !roles[r] {
				add(fmt.Sprintf("%s.roles[%d]", p, j), "runbook %q: no host has role %q%s", rb.Name, r, didYouMean(r, slices.Sorted(maps.Keys(roles))))
			}
		}
		for j, e := range rb.Envs {
			if !envs[e] {
				add(fmt.Sprintf("%s.envs[%d]", p, j), "runbook %q: environment %q is not declared%s", rb.Name, e, didYouMean(e, slices.Sorted(maps.Keys(envs))))
			}
		}
		if rb.Key == "" {
			continue
		}
		if why := ValidRunbookKey(rb.Key); why != "" {
			add(p+".key", "runbook %q: %s", rb.Name, why)
		} else if other, ok := keys[rb.Key]; ok {
			add(p+".key", "runbook %q: key %q is runbook %q's already", rb.Name, rb.Key, other)
		} else {
			keys[rb.Key] = rb.Name
		}
	}
}

// runbookChanges lists the runbooks added, changed and removed, for Diff.
func runbookChanges(before, after *Fleet) []string {
	var out []string
	for _, r := range after.Runbooks {
		old, ok := before.Runbook(r.Name)
		if !ok {
			out = append(out, "+ runbook "+r.Name)
		} else if fs := fieldDiff(old, r); len(fs) > 0 {
			out = append(out, fmt.Sprintf("~ runbook %s: %s", r.Name, strings.Join(fs, "; ")))
		}
	}
	for _, r := range before.Runbooks {
		if _, ok := after.Runbook(r.Name); !ok {
			out = append(out, "- runbook "+r.Name)
		}
	}
	return out
}
