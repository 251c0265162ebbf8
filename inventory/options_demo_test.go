package inventory_test

import (
	"testing"

	"github.com/opsui/opsui/internal/demofleet"
	"github.com/opsui/opsui/inventory"
)

// TestDemoFleetValid: the demo's fleet, exported as a fleet file and
// imported again, passes every option check (its lb, cache, db and web
// settings are what a new user copies).
func TestDemoFleetValid(t *testing.T) {
	dir := t.TempDir()
	f := demofleet.Inventory(dir, demofleet.Layout(dir, 0, false, 0))
	if err := inventory.Validate(f); err != nil {
		t.Fatalf("the demo fleet is invalid: %v", err)
	}
	doc, err := inventory.EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inventory.DecodeYAML("demo.yaml", doc); err != nil {
		t.Fatalf("the demo's fleet file is refused: %v", err)
	}
}
