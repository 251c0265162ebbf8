package ui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

// Config is the console's config file:
//
//	theme: light            # dark, light or high-contrast
//	refresh: 10s            # how often the status panel probes the fleet
//	keys:                   # action: key or [keys], replacing its defaults
//	  follow: F
//	  next_failed: [n, "]"]
//	output:                 # recorded output, for every command that records runs
//	  record_limit: 16MiB   # of each host's output per run (none: no limit)
//	  keep: 90d             # prune the output of older runs (none: keep)
//	  max_size: 2GiB        # and of the oldest runs beyond this total (none: no budget)
//
// Flags given on the command line override it.
type Config struct {
	Path    string
	Theme   string
	Refresh time.Duration
	// Output bounds recorded output; unset fields take the store's defaults.
	Output store.OutputPolicy
	// Keys are the overridden actions' keys, by action name (ActionNames).
	Keys map[string][]string
	// lines are the file's line of each overridden action, for errors.
	lines map[string]int
}

// LoadConfig reads the config file at path (store.ConfigPath); a missing
// file is an empty Config. Every mistake is reported as path:line.
func LoadConfig(path string) (Config, error) {
	root, err := store.ReadConfigDoc(path)
	if err != nil {
		return Config{Path: path, Keys: map[string][]string{}, lines: map[string]int{}}, err
	}
	return configOf(path, root)
}

// parseConfig reads a config file's content; path names it in errors.
func parseConfig(path string, data []byte) (Config, error) {
	root, err := store.ParseConfigDoc(path, data)
	if err != nil {
		return Config{Path: path, Keys: map[string][]string{}, lines: map[string]int{}}, err
	}
	return configOf(path, root)
}

// configOf reads the settings of a config file's root mapping (nil: none).
func configOf(path string, root *yaml.Node) (Config, error) {
	cfg := Config{Path: path, Keys: map[string][]string{}, lines: map[string]int{}}
	if root == nil {
		return cfg, nil
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "theme":
			if _, err := themes.ByName(v.Value); v.Kind != yaml.ScalarNode || err != nil {
				return cfg, bad(v, "theme: %q is not one of %s", v.Value, strings.Join(themes.Names(), ", "))
			}
			cfg.Theme = v.Value
		case "refresh":
			d, err := time.ParseDuration(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil || d <= 0 {
				return cfg, bad(v, "refresh: want a positive duration such as 5s, got %q", v.Value)
			}
			cfg.Refresh = d
		case "keys":
			if err := cfg.parseKeys(v, bad); err != nil {
				return cfg, err
			}
		case "output":
			p, err := store.ParseOutputPolicy(path, v)
			if err != nil {
				return cfg, err
			}
			cfg.Output = p
		case "db": // the store's (store.ResolvePath): checked here too, so a mistake fails fast
			if _, err := store.ParseDBSetting(path, v); err != nil {
				return cfg, err
			}
		default:
			return cfg, bad(k, "unknown setting %q (known: theme, refresh, keys, output, db)", k.Value)
		}
	}
	if _, err := cfg.KeyMap(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

func (c *Config) parseKeys(n *yaml.Node, bad func(*yaml.Node, string, ...any) error) error {
	if n.Kind != yaml.MappingNode {
		return bad(n, "keys: want a mapping of action: key or [keys]")
	}
	known := ActionNames()
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		name := k.Value
		if fixedAction(name) {
			return bad(k, "%s cannot be rebound", name)
		}
		if !slices.Contains(known, name) {
			return bad(k, "unknown action %q (known: %s)", name, strings.Join(known, ", "))
		}
		if _, dup := c.lines[name]; dup {
			return bad(k, "action %s is set twice (first on line %d)", name, c.lines[name])
		}
		var keys []string
		switch v.Kind {
		case yaml.ScalarNode:
			keys = []string{v.Value}
		case yaml.SequenceNode:
			for _, item := range v.Content {
				if item.Kind != yaml.ScalarNode {
					return bad(item, "%s: want a key such as x, ctrl+r or f5", name)
				}
				keys = append(keys, item.Value)
			}
		default:
			return bad(v, "%s: want a key or a list of keys", name)
		}
		if len(keys) == 0 {
			return bad(v, "%s: no key given", name)
		}
		for _, kk := range keys {
			if kk == "" || strings.ContainsAny(kk, " \t") {
				return bad(v, "%s: %q is not a key (write space for the space bar)", name, kk)
			}
		}
		c.Keys[name], c.lines[name] = keys, k.Line
	}
	return nil
}

// KeyMap returns the default bindings with the file's overrides; a key
// bound to two actions of one view is an error naming the file and line.
func (c Config) KeyMap() (KeyMap, error) {
	km := DefaultKeyMap()
	for name, keys := range c.Keys {
		if !km.rebind(name, keys) {
			return km, fmt.Errorf("%s:%d: unknown action %q", c.Path, c.lines[name], name)
		}
	}
	if cfs := km.conflicts(); len(cfs) > 0 {
		cf := cfs[0]
		line, other := c.lines[cf.second], cf.first
		if l, ok := c.lines[cf.first]; ok && (line == 0 || l > line) {
			line, other = l, cf.second
		}
		hint := ""
		if _, ok := c.lines[other]; !ok {
			hint = fmt.Sprintf(" (its default; rebind %s too)", other)
		}
		return km, fmt.Errorf("%s:%d: %s%s", c.Path, line, cf, hint)
	}
	return km, nil
}
