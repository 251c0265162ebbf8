package inventory

import "strings"

// RolePreset returns the preset of role that settings set select, and
// what selected it, for messages: the web role's process manager, the
// balancer preset (as the deploy picks it), the cache kind; "" for a role
// without presets and for a balancer opsui does not drain.
func RolePreset(role string, set RoleSettings) (preset, why string) {
	o := set.Options
	switch role {
	case "web", RoleWorker:
		if set.Process != "" {
			return set.Process, "process: " + set.Process
		}
		return ProcessDaemon, "no process: set"
	case "lb":
		switch {
		case o["preset"] != "":
			return o["preset"], "preset: " + o["preset"]
		case o["drain"] != "":
			return BalancerCustom, "drain is set"
		case o["upstream_file"] != "":
			return BalancerNginx, "upstream_file is set"
		}
		return "", "no preset, upstream_file or drain is set"
	case "cache":
		if k := o["kind"]; k != "" {
			return k, "kind: " + k
		}
		if strings.Contains(strings.ToLower(set.Service), "redis") {
			return CacheRedis, "its service is " + set.Service
		}
		return CacheMemcached, "no kind: set"
	}
	return "", ""
}
