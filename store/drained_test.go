package store

import (
	"context"
	"testing"
)

func TestDrainedRecords(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d := Drained{App: "shop", Env: "prod", Balancer: "lb1", Backend: "web1", Addr: "10.0.0.1:8000", Operator: "alice"}
	// Recording twice keeps one open record (the first).
	if err := s.RecordDrained(ctx, []Drained{d, d, {App: "shop", Env: "prod", Balancer: "lb2", Backend: "web1"}}); err != nil {
		t.Fatal(err)
	}
	open, err := s.OpenDrained(ctx, "shop", "prod")
	if err != nil || len(open) != 2 || open[0].Balancer != "lb1" || open[0].Addr != "10.0.0.1:8000" || open[0].DrainedAt == 0 {
		t.Fatalf("open drains: %+v %v", open, err)
	}
	if other, _ := s.OpenDrained(ctx, "shop", "staging"); len(other) != 0 {
		t.Errorf("another environment's drains: %+v", other)
	}
	if err := s.RestoreDrained(ctx, "shop", "prod", "lb1", []string{"web1"}, "bob"); err != nil {
		t.Fatal(err)
	}
	open, _ = s.OpenDrained(ctx, "", "")
	if len(open) != 1 || open[0].Balancer != "lb2" {
		t.Errorf("after restoring lb1's web1: %+v", open)
	}
	// Drained again after being put back: a new record.
	if err := s.RecordDrained(ctx, []Drained{d}); err != nil {
		t.Fatal(err)
	}
	if open, _ = s.OpenDrained(ctx, "shop", "prod"); len(open) != 2 {
		t.Errorf("a new drain after a restore is not recorded: %+v", open)
	}
}
