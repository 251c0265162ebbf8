package store

import (
	"context"
	"testing"
)

// TestMaintenanceState: a pair never put in maintenance reads off; on and
// off are kept with their message, Retry-After, operator and run, on both
// backends; only the pairs on are listed as on.
func TestMaintenanceState(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	m, err := s.MaintenanceOf(ctx, "shop", "production")
	if err != nil || m.On || m.Since != 0 {
		t.Fatalf("never set: %+v, %v", m, err)
	}
	on := Maintenance{App: "shop", Env: "production", On: true, Message: `back "soon"; really`, RetryAfter: 300,
		Operator: "ann", Since: 1700000000000, RunID: 7}
	if err := s.SetMaintenance(ctx, on); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMaintenance(ctx, Maintenance{App: "blog", Env: "production", Operator: "bob"}); err != nil {
		t.Fatal(err)
	}
	if m, err = s.MaintenanceOf(ctx, "shop", "production"); err != nil || m != on {
		t.Fatalf("read back %+v, %v\nwant %+v", m, err, on)
	}
	ms, err := s.Maintenances(ctx, true)
	if err != nil || len(ms) != 1 || ms[0] != on {
		t.Fatalf("on: %+v, %v", ms, err)
	}
	off := on
	off.On, off.Operator, off.Since, off.RunID = false, "bob", 1700000060000, 8
	if err := s.SetMaintenance(ctx, off); err != nil {
		t.Fatal(err)
	}
	if ms, err = s.Maintenances(ctx, true); err != nil || len(ms) != 0 {
		t.Fatalf("on after off: %+v, %v", ms, err)
	}
	if ms, err = s.Maintenances(ctx, false); err != nil || len(ms) != 2 || ms[1] != off {
		t.Fatalf("all: %+v, %v", ms, err)
	}
}
