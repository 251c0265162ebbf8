package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConfigPath returns where opsui's config file is: $XDG_CONFIG_HOME/opsui/
// config.yaml, else ~/.config/opsui/config.yaml. The console reads all of
// it; every command that records runs reads its output: section
// (LoadOutputPolicy).
func ConfigPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CONFIG_HOME"); dir != "" {
		return filepath.Join(dir, "opsui", "config.yaml"), nil
	}
	home := getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("find the config file: %w", err)
		}
	}
	return filepath.Join(home, ".config", "opsui", "config.yaml"), nil
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// ReadConfigDoc reads the config file at path into its root mapping node;
// a missing or empty file is nil. Syntax errors say path:line.
func ReadConfigDoc(path string) (*yaml.Node, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseConfigDoc(path, data)
}

// ParseConfigDoc parses a config file's content (ReadConfigDoc).
func ParseConfigDoc(path string, data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			return nil, fmt.Errorf("%s:%s: %s", path, m[1], m[2])
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(doc.Content) == 0 {
		return nil, nil // an empty file
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d: the config is not a mapping of settings (theme, refresh, keys, output)", path, root.Line)
	}
	return root, nil
}

// LoadOutputPolicy reads the output: section of the config file at path
// (a missing file or section is the zero policy: the defaults). The other
// sections are the console's, checked when it starts.
func LoadOutputPolicy(path string) (OutputPolicy, error) {
	root, err := ReadConfigDoc(path)
	if err != nil || root == nil {
		return OutputPolicy{}, err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "output" {
			return ParseOutputPolicy(path, root.Content[i+1])
		}
	}
	return OutputPolicy{}, nil
}

// LoadDBSetting reads the config file's db: setting (a missing file or
// setting is ""): the database to use when neither --db nor OPSUI_DB say.
func LoadDBSetting(path string) (string, error) {
	root, err := ReadConfigDoc(path)
	if err != nil || root == nil {
		return "", err
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "db" {
			return ParseDBSetting(path, root.Content[i+1])
		}
	}
	return "", nil
}

// ParseDBSetting reads the config file's db: value, n: a SQLite file's
// path (~/ is the home directory) or a postgres:// URL.
//
//	db: postgres://alice@db.example/opsui?sslmode=verify-full
func ParseDBSetting(path string, n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Value == "" {
		return "", fmt.Errorf("%s:%d: db: want a file path or a postgres:// URL", path, n.Line)
	}
	if _, err := BackendOf(n.Value); err != nil {
		return "", fmt.Errorf("%s:%d: db: %w", path, n.Line, err)
	}
	if rest, ok := strings.CutPrefix(n.Value, "~/"); ok {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("%s:%d: db: %w", path, n.Line, err)
		}
		return filepath.Join(home, rest), nil
	}
	return n.Value, nil
}

// ParseOutputPolicy reads the config file's output: section, n its value:
//
//	output:
//	  record_limit: 16MiB   # of each host's output per run (none: no limit)
//	  keep: 90d             # prune the output of older runs (none: keep)
//	  max_size: 2GiB        # and of the oldest runs beyond this total (none: no budget)
//
// Unset fields take the defaults; every mistake says path:line.
func ParseOutputPolicy(path string, n *yaml.Node) (OutputPolicy, error) {
	var p OutputPolicy
	bad := func(n *yaml.Node, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, n.Line, fmt.Sprintf(format, args...))
	}
	if n.Kind != yaml.MappingNode {
		return p, bad(n, "output: want a mapping of record_limit, keep and max_size")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return p, bad(v, "output.%s: want a single value", k.Value)
		}
		var err error
		switch k.Value {
		case "record_limit":
			p.RecordLimit, err = ParseBytes(v.Value)
		case "max_size":
			p.MaxBytes, err = ParseBytes(v.Value)
		case "keep":
			p.KeepFor, err = ParseAge(v.Value)
		default:
			return p, bad(k, "unknown output setting %q (known: record_limit, keep, max_size)", k.Value)
		}
		if err != nil {
			return p, bad(v, "output.%s: %v", k.Value, err)
		}
	}
	return p, nil
}
