package inventory

import (
	"fmt"
	"maps"
	"slices"
)

// rolePresets are the presets RolePreset can return for each role that has
// them, and what the role calls them in messages.
var rolePresets = map[string]struct {
	noun  string
	names []string
}{
	"web":   {"process manager", []string{ProcessDaemon, ProcessSupervisord, ProcessSystemd}},
	"lb":    {"balancer preset", []string{BalancerNginx, BalancerHAProxy, BalancerCustom}},
	"cache": {"cache kind", []string{CacheMemcached, CacheRedis}},
}

// required are the options a preset cannot work without.
var required = map[string]map[string][]string{
	"lb": {
		BalancerNginx:   {"upstream_file"},
		BalancerHAProxy: {"admin_socket"},
		// Without enable, what drain took out would never be put back.
		BalancerCustom: {"drain", "enable"},
	},
}

// presetIssue is one problem of a host's effective settings for a role;
// key is the option it is about ("" for the settings as a whole).
type presetIssue struct {
	key, msg string
}

// presetProblems checks the effective settings set of host's role against
// the role's preset: an option the preset does not read (it would be
// silently ignored, as a haproxy admin_socket on an nginx balancer is), an
// option the preset needs, and the cache options that depend on its kind.
// Values were checked block by block already; an unknown preset is
// reported there and skips these checks.
func presetProblems(host, role string, set RoleSettings) []presetIssue {
	rp, ok := rolePresets[role]
	if !ok {
		return nil
	}
	preset, why := RolePreset(role, set)
	if preset != "" && !slices.Contains(rp.names, preset) {
		return nil
	}
	var out []presetIssue
	for _, k := range slices.Sorted(maps.Keys(set.Options)) {
		o, ok := LookupOption(role, k)
		if !ok || len(o.Presets) == 0 || slices.Contains(o.Presets, preset) {
			continue
		}
		has := "is " + preset
		if preset == "" {
			has = "has none"
		}
		out = append(out, presetIssue{k, fmt.Sprintf("option %s is read only when the %s is %s; host %s's %s (%s)",
			k, rp.noun, orList(o.Presets), host, has, why)})
	}
	for _, k := range required[role][preset] {
		// A misspelt key is reported as such already.
		typo := slices.ContainsFunc(slices.Collect(maps.Keys(set.Options)), func(o string) bool {
			_, known := LookupOption(role, o)
			return !known && Closest(o, []string{k}) != ""
		})
		if set.Options[k] == "" && !typo {
			out = append(out, presetIssue{"", fmt.Sprintf("host %s: the %s %s needs options.%s", host, preset, rp.noun, k)})
		}
	}
	if role == "cache" {
		out = append(out, cacheProblems(host, preset, set)...)
	}
	return out
}

// cacheProblems checks the cache options whose meaning depends on the
// kind, as the flush reads them (ops/cache.SpecFor).
func cacheProblems(host, kind string, set RoleSettings) []presetIssue {
	var out []presetIssue
	clients := map[string][]string{CacheMemcached: {"nc", "python3"}, CacheRedis: {"redis-cli", "python3"}}[kind]
	if c := set.Options["client"]; c != "" && !slices.Contains(clients, c) {
		out = append(out, presetIssue{"client", fmt.Sprintf("host %s: %s is no %s client (want %s)", host, c, kind, orList(clients))})
	}
	if set.Options["password_env"] != "" && kind != CacheRedis && set.Options["flush"] == "" {
		out = append(out, presetIssue{"password_env", fmt.Sprintf("host %s: password_env: the built-in memcached flush has no authentication (set options.flush, or kind: redis)", host)})
	}
	return out
}

// validatePresets runs presetProblems for every role of host h (at
// hosts[i] = p), reporting each problem where the option is set: the
// host's own settings, else the role's defaults (once for all the hosts
// that share them).
func validatePresets(f *Fleet, p string, h Host, seen map[string]bool, add func(path, format string, args ...any)) {
	for _, role := range h.Roles {
		for _, iss := range presetProblems(h.Name, role, f.SettingsFor(h, role)) {
			path := p
			if _, own := h.Settings[role]; own {
				path = p + ".settings." + role
			}
			if iss.key != "" {
				if _, own := h.Settings[role].Options[iss.key]; own {
					path = p + ".settings." + role + ".options." + iss.key
				} else {
					path = "roles." + role + ".options." + iss.key
				}
			}
			k := path
			if iss.key == "" {
				k += "\x00" + iss.msg
			}
			if seen[k] {
				continue
			}
			seen[k] = true
			add(path, "%s", iss.msg)
		}
	}
}
