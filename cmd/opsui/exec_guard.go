package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// An arbitrary command on a protected environment is as destructive as a
// deploy there, and whether it only reads cannot be known: exec asks for
// the environment's name as deploys do, and --yes alone does not answer.

// protectedEnvsOf names the protected environments among hosts' ones,
// sorted.
func protectedEnvsOf(f *inventory.Fleet, hosts []inventory.Host) []string {
	var out []string
	for _, h := range hosts {
		if e, ok := f.Environment(h.Env); ok && e.Protected && !slices.Contains(out, e.Name) {
			out = append(out, e.Name)
		}
	}
	sort.Strings(out)
	return out
}

// confirmOnProtected lets command (an exec, a cp: verb) run on hosts only when every protected
// environment among theirs is named: by --confirm-env, or typed on the
// terminal after the command and the hosts are shown. A --confirm-env
// that names no protected environment of the selection is refused, so a
// typo never passes for a confirmation.
func (c *cli) confirmOnProtected(f *inventory.Fleet, hosts []inventory.Host, verb, command string, named []string, yes bool) error {
	protected := protectedEnvsOf(f, hosts)
	for _, n := range named {
		if !slices.Contains(protected, n) {
			if len(protected) == 0 {
				return usageError{fmt.Errorf("--confirm-env %s: none of the selected hosts is in a protected environment: nothing to confirm", n)}
			}
			return usageError{fmt.Errorf("--confirm-env %s: not a protected environment of the selected hosts (they are in %s)", n, strings.Join(protected, ", "))}
		}
	}
	var missing []string
	for _, e := range protected {
		if !slices.Contains(named, e) {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	flags := "--confirm-env " + strings.Join(missing, " --confirm-env ")
	what := fmt.Sprintf("%s on %d %s of protected %s %s", verb, len(hosts), pluralWord(len(hosts), "host", "hosts"),
		pluralWord(len(missing), "environment", "environments"), strings.Join(missing, ", "))
	if yes {
		return usageError{fmt.Errorf("%s: --yes is not enough, name it: %s", what, flags)}
	}
	if !isTTY(c.stdin) {
		return usageError{fmt.Errorf("%s: type its name on a terminal, or pass %s (standard input is not a terminal)", what, flags)}
	}
	fmt.Fprintf(c.stderr, "Run on %d %s:\n  command: %s\n  hosts:   %s\n", len(hosts), pluralWord(len(hosts), "host", "hosts"),
		command, hostsWithEnv(hosts))
	for _, e := range missing {
		fmt.Fprintf(c.stderr, "%s is a protected environment. Type its name to continue: ", e)
		if got := readLine(c.stdin); got != e {
			return fmt.Errorf("the name did not match (%s, not %s): nothing was run", quoteName(got), e)
		}
	}
	return nil
}

// hostsWithEnv lists hosts as "web1 (production), web2 (production)".
func hostsWithEnv(hosts []inventory.Host) string {
	names := make([]string, len(hosts))
	for i, h := range hosts {
		names[i] = h.Name + " (" + h.Env + ")"
	}
	return strings.Join(names, ", ")
}

func quoteName(s string) string { return fmt.Sprintf("%q", s) }

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
