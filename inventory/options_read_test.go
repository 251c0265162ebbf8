package inventory

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// optionReads find where the code reads a role option by name: an index
// of a settings' Options (or the maps it is copied to), a helper named
// opt, the cache package's Opt* constants, and the lists of keys a loop
// then reads with Options[k].
var optionReads = []*regexp.Regexp{
	regexp.MustCompile(`(?:Options|opts|\bo)\["([a-z_]+)"\]`),
	regexp.MustCompile(`\bopt\("([a-z_]+)"`),
	regexp.MustCompile(`\bOpt[A-Z]\w*\s*=\s*"([a-z_]+)"`),
}

var keyListRead = regexp.MustCompile(`range \[\]string\{([^}]*)\}\s*\{[^\n]*\n[^\n]*Options\[k\]`)

// TestEveryOptionReadIsInTheTable: the table is the single list of the
// options opsui reads. Every option the product's code reads by name is
// in it (so import can never refuse an option a preset reads), and every
// option in it is read somewhere (so it lists no option that does
// nothing).
func TestEveryOptionReadIsInTheTable(t *testing.T) {
	read := map[string][]string{} // key -> files reading it
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "internal" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") ||
			strings.HasPrefix(path, filepath.Join("..", "inventory", "options")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, re := range optionReads {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				read[m[1]] = append(read[m[1]], path)
			}
		}
		for _, m := range keyListRead.FindAllStringSubmatch(src, -1) {
			for _, k := range strings.Split(m[1], ",") {
				k = strings.Trim(strings.TrimSpace(k), `"`)
				read[k] = append(read[k], path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) < 20 {
		t.Fatalf("found only %d option reads (%v): the patterns no longer match the code", len(read), read)
	}
	for k, files := range read {
		if !slices.ContainsFunc(Options, func(o Option) bool { return o.Key == k }) {
			t.Errorf("option %q is read by %s but is not in inventory.Options: import would refuse it", k, strings.Join(slices.Compact(files), ", "))
		}
	}
	for _, o := range Options {
		if _, ok := read[o.Key]; !ok {
			t.Errorf("option %s.%s is in the table but no code reads it", o.Role, o.Key)
		}
	}
}
