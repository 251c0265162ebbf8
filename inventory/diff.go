package inventory

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
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
	c.Other = append(c.Other, runbookChanges(before, after)...)
	return c
}

func normRoles(m map[string]RoleSettings) map[string]RoleSettings {
	if len(m) == 0 {
		return nil
	}
	return m
}

// fieldDiff lists the fields of two values of one struct type that differ,
// named by their YAML keys; a map or a pointer to a struct is followed
// down to the fields that changed (settings.web.health_url), never shown as
// an edit of the whole.
func fieldDiff(a, b any) []string {
	return valueDiff("", reflect.ValueOf(a), reflect.ValueOf(b))
}

func valueDiff(prefix string, va, vb reflect.Value) []string {
	t := va.Type()
	var out []string
	for i := 0; i < t.NumField(); i++ {
		fa, fb := va.Field(i), vb.Field(i)
		if reflect.DeepEqual(fa.Interface(), fb.Interface()) || (isEmpty(fa) && isEmpty(fb)) {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		out = append(out, diffOne(prefix+name, fa, fb)...)
	}
	return out
}

// diffOne describes how one field changed.
func diffOne(name string, a, b reflect.Value) []string {
	switch {
	case a.Kind() == reflect.Map && a.Type().Key().Kind() == reflect.String && !isEmpty(a) && !isEmpty(b):
		var out []string
		keys := map[string]bool{}
		for _, k := range append(a.MapKeys(), b.MapKeys()...) {
			keys[k.String()] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			ea, eb := a.MapIndex(reflect.ValueOf(k).Convert(a.Type().Key())), b.MapIndex(reflect.ValueOf(k).Convert(b.Type().Key()))
			switch {
			case !ea.IsValid():
				out = append(out, fmt.Sprintf("%s.%s: (none) -> %s", name, k, show(eb)))
			case !eb.IsValid():
				out = append(out, fmt.Sprintf("%s.%s: %s -> (none)", name, k, show(ea)))
			case !reflect.DeepEqual(ea.Interface(), eb.Interface()):
				out = append(out, diffOne(name+"."+k, ea, eb)...)
			}
		}
		return out
	case a.Kind() == reflect.Pointer && !a.IsNil() && !b.IsNil() && a.Elem().Kind() == reflect.Struct:
		return valueDiff(name+".", a.Elem(), b.Elem())
	case a.Kind() == reflect.Struct && a.Type().NumField() > 0 && b.Type() == a.Type() && !implementsStringer(a):
		return valueDiff(name+".", a, b)
	}
	return []string{fmt.Sprintf("%s: %s -> %s", name, show(a), show(b))}
}

func implementsStringer(v reflect.Value) bool {
	_, ok := v.Interface().(fmt.Stringer)
	return ok
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
	switch v.Kind() {
	case reflect.Slice:
		return fmt.Sprintf("(%d entries)", v.Len())
	case reflect.Map, reflect.Pointer, reflect.Struct:
		return "(set)"
	}
	return fmt.Sprint(v.Interface())
}
