package deploy

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
)

// Changes lists what differs, for this plan, between the inventory it was
// made from and f: hosts the plan's selection picks now and did not then
// (or no longer picks), and any field of its hosts, balancers, app,
// environment or role defaults. None means the plan is still f's.
func (p *Plan) Changes(f *inventory.Fleet) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	changed := func(kind, name string, found bool, was, now any) {
		if !found {
			add("%s %s was removed", kind, name)
			return
		}
		for _, d := range fieldChanges(was, now) {
			add("%s %s: %s", kind, name, d)
		}
	}
	env, ok := f.Environment(p.Env.Name)
	changed("environment", p.Env.Name, ok, p.Env, env)
	app, ok := f.App(p.App.Name)
	changed("app", p.App.Name, ok, p.App, app)
	out = append(out, hostChanges("host", p.Hosts, SelectHosts(f, p.Env.Name, p.Select))...)
	out = append(out, hostChanges("balancer", p.Balancers, f.Select(inventory.Filter{Env: p.Env.Name, Role: RoleLB}))...)

	// The role defaults the plan's hosts take their settings from.
	var roles []string
	for _, h := range slices.Concat(p.Hosts, p.Balancers) {
		for _, r := range h.Roles {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	slices.Sort(roles)
	for _, r := range roles {
		if !reflect.DeepEqual(p.Fleet.Roles[r], f.Roles[r]) {
			add("the defaults of role %s changed", r)
		}
	}
	return out
}

// hostChanges compares the hosts a plan has (was) with those the
// inventory gives now (is), by name.
func hostChanges(what string, was, is []inventory.Host) []string {
	var out []string
	byName := make(map[string]inventory.Host, len(is))
	for _, h := range is {
		byName[h.Name] = h
	}
	for _, h := range was {
		now, ok := byName[h.Name]
		if !ok {
			out = append(out, fmt.Sprintf("%s %s was removed", what, h.Name))
			continue
		}
		for _, d := range fieldChanges(h, now) {
			out = append(out, fmt.Sprintf("%s %s: %s", what, h.Name, d))
		}
	}
	for _, h := range is {
		if !slices.ContainsFunc(was, func(w inventory.Host) bool { return w.Name == h.Name }) {
			out = append(out, fmt.Sprintf("%s %s was added", what, h.Name))
		}
	}
	return out
}

// fieldChanges names the fields of two values of one struct type that
// differ, by their fleet-file (yaml) names: "address 10.0.0.1 → 10.0.0.2"
// for a plain value, "stages changed" for the rest.
func fieldChanges(was, is any) []string {
	a, b := reflect.ValueOf(was), reflect.ValueOf(is)
	var out []string
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if !a.Type().Field(i).IsExported() || reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			continue
		}
		name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			name = strings.ToLower(a.Type().Field(i).Name)
		}
		switch fa.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64:
			out = append(out, fmt.Sprintf("%s %s → %s", name, plain(fa), plain(fb)))
		case reflect.Slice:
			if fa.Type().Elem().Kind() == reflect.String {
				out = append(out, fmt.Sprintf("%s %v → %v", name, fa.Interface(), fb.Interface()))
				break
			}
			out = append(out, name+" changed")
		default:
			out = append(out, name+" changed")
		}
	}
	return out
}

func plain(v reflect.Value) string {
	if v.Kind() == reflect.String && v.String() == "" {
		return `""`
	}
	return fmt.Sprint(v.Interface())
}
