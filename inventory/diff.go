package inventory

import (
	"fmt"
	"reflect"
	"strings"
)

// Changes is what replacing one fleet by another would do, named the way an
// operator reads a dry run.
type Changes struct {
	Added   []string
	Changed []Change
	Removed []string
	// Environments, roles and apps, summarised one line each.
	Other []string
}

// Change is one host whose fields differ.
type Change struct {
	Name   string
	Fields []string // "port: 22 -> 2222"
}

// Empty reports whether nothing would change.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Changed) == 0 && len(c.Removed) == 0 && len(c.Other) == 0
}

// String renders the changes as a dry-run report, one line per item.
func (c Changes) String() string {
	if c.Empty() {
		return "no changes\n"
	}
	var b strings.Builder
	for _, n := range c.Added {
		fmt.Fprintf(&b, "+ host %s\n", n)
	}
	for _, ch := range c.Changed {
		fmt.Fprintf(&b, "~ host %s: %s\n", ch.Name, strings.Join(ch.Fields, "; "))
	}
	for _, n := range c.Removed {
		fmt.Fprintf(&b, "- host %s\n", n)
	}
	for _, o := range c.Other {
		fmt.Fprintf(&b, "%s\n", o)
	}
	fmt.Fprintf(&b, "%d added, %d changed, %d removed hosts\n", len(c.Added), len(c.Changed), len(c.Removed))
	return b.String()
}

// Diff compares the fleet before and after an import.
func Diff(before, after *Fleet) Changes {
	var c Changes
	for _, h := range after.Hosts {
		old, ok := before.Host(h.Name)
		if !ok {
			c.Added = append(c.Added, h.Name)
			continue
		}
		if fields := fieldDiff(old, h); len(fields) > 0 {
			c.Changed = append(c.Changed, Change{Name: h.Name, Fields: fields})
		}
	}
	for _, h := range before.Hosts {
		if _, ok := after.Host(h.Name); !ok {
			c.Removed = append(c.Removed, h.Name)
		}
	}
	for _, e := range after.Environments {
		old, ok := before.Environment(e.Name)
		switch {
		case !ok:
			c.Other = append(c.Other, "+ environment "+e.Name)
		case old != e:
			c.Other = append(c.Other, fmt.Sprintf("~ environment %s: %s", e.Name, strings.Join(fieldDiff(old, e), "; ")))
		}
	}
	for _, e := range before.Environments {
		if _, ok := after.Environment(e.Name); !ok {
			c.Other = append(c.Other, "- environment "+e.Name)
		}
	}
	for _, a := range after.Apps {
		old, ok := before.App(a.Name)
		switch {
		case !ok:
			c.Other = append(c.Other, "+ app "+a.Name)
		case !reflect.DeepEqual(old, a):
			c.Other = append(c.Other, fmt.Sprintf("~ app %s: %s", a.Name, strings.Join(fieldDiff(old, a), "; ")))
		}
	}
	for _, a := range before.Apps {
		if _, ok := after.App(a.Name); !ok {
			c.Other = append(c.Other, "- app "+a.Name)
		}
	}
	if !reflect.DeepEqual(normRoles(before.Roles), normRoles(after.Roles)) {
		c.Other = append(c.Other, "~ role settings")
	}
	return c
}

func normRoles(m map[string]RoleSettings) map[string]RoleSettings {
	if len(m) == 0 {
		return nil
	}
	return m
}

// fieldDiff lists the fields of two values of one struct type that differ,
// named by their YAML keys.
func fieldDiff(a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		if reflect.DeepEqual(fa, fb) || (isEmpty(va.Field(i)) && isEmpty(vb.Field(i))) {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, fmt.Sprintf("%s: %s -> %s", name, show(va.Field(i)), show(vb.Field(i))))
	}
	return out
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice, reflect.Map:
		return v.Len() == 0
	}
	return v.IsZero()
}

func show(v reflect.Value) string {
	if isEmpty(v) {
		return "(none)"
	}
	switch x := v.Interface().(type) {
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	case string:
		return fmt.Sprintf("%q", x)
	}
	if v.Kind() == reflect.Map || v.Kind() == reflect.Slice || v.Kind() == reflect.Pointer {
		return "(edited)"
	}
	return fmt.Sprint(v.Interface())
}
