package inventory

import (
	"fmt"
	"strings"
)

// OptionsReference writes the reference of every role option as markdown:
// docs/OPTIONS.md and the README's fleet file options are this text.
func OptionsReference() string {
	var b strings.Builder
	b.WriteString("# Fleet file options\n\n")
	b.WriteString("<!-- Generated from the option table (inventory/options.go) by `go test ./inventory -run TestOptionsReference -update`. Do not edit. -->\n\n")
	b.WriteString(`Every option opsui reads from a role's settings, in the fleet file's
` + "`roles: ROLE: options:`" + ` (the role's defaults) or a host's
` + "`settings: ROLE: options:`" + ` (that host's own, which win). Values are
strings. Import refuses an option not listed here for its role, a value
not of its type, and an option the host's preset does not read (an HAProxy
option on an nginx balancer would be silently ignored), each with its
file:line:col and the closest option or value when one is near.

Presets: the web role's process manager is ` + "`process:`" + ` (daemon, the
default: opsui starts gunicorn; supervisord; systemd). A balancer's preset
is ` + "`options.preset`" + `, else nginx when upstream_file is set, custom when
drain is set; a balancer with none is not drained during deploys. A
cache's kind is ` + "`options.kind`" + `, else redis when its service's name says
redis, else memcached. A role opsui does not know (any but web, lb, cache
and db) has only the options of every role.
`)
	for _, role := range append([]string{""}, KnownRoles...) {
		title := "every role"
		if role != "" {
			title = "role " + role
		}
		fmt.Fprintf(&b, "\n## %s\n\n| option | value | read by | default | meaning |\n|---|---|---|---|---|\n", title)
		for _, o := range Options {
			if o.Role != role {
				continue
			}
			typ := o.Type.Describe()
			if o.Type == OptChoice {
				typ = strings.Join(o.Choices, ", ")
			}
			if o.Type == OptCount {
				typ = fmt.Sprintf("number %d-%d", o.Min, o.Max)
			}
			readBy := "all"
			if len(o.Presets) > 0 {
				readBy = strings.Join(o.Presets, ", ")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", o.Key, typ, readBy, o.Default, o.Meaning)
		}
	}
	return b.String()
}
