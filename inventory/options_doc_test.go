package inventory

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateOptions = flag.Bool("update", false, "rewrite docs/OPTIONS.md from the option table")

// docs/OPTIONS.md is generated from the option table; a change to the
// table that leaves it stale fails here.
func TestOptionsReference(t *testing.T) {
	path := filepath.Join("..", "docs", "OPTIONS.md")
	got := OptionsReference()
	if *updateOptions {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./inventory -run TestOptionsReference -update writes it)", err)
	}
	if string(want) != got {
		t.Errorf("docs/OPTIONS.md is stale: go test ./inventory -run TestOptionsReference -update")
	}
	for _, o := range Options {
		if !strings.Contains(got, "| `"+o.Key+"` |") {
			t.Errorf("the reference leaves out %s.%s", o.Role, o.Key)
		}
	}
}
