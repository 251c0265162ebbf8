// Package testfleet gives tests the sample fleet file every package's tests
// share: inventory/testdata/fleet.yaml, the README's example.
package testfleet

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/opsui/opsui/inventory"
)

// Path returns the absolute path of the sample fleet file.
func Path() string {
	_, here, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(here), "..", "..", "inventory", "testdata", "fleet.yaml")
}

// Load decodes the sample fleet, failing the test if it cannot.
func Load(t testing.TB) *inventory.Fleet {
	t.Helper()
	b, err := os.ReadFile(Path())
	if err != nil {
		t.Fatal(err)
	}
	f, err := inventory.DecodeYAML("fleet.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
