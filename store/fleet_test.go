package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/opsui/opsui/internal/testfleet"
	"github.com/opsui/opsui/inventory"
)

func sampleFleet(t *testing.T) *inventory.Fleet { return testfleet.Load(t) }

func TestFleetSaveLoadIsLossless(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	want := sampleFleet(t)
	if err := s.SaveFleet(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		a, _ := inventory.EncodeYAML(want)
		b, _ := inventory.EncodeYAML(got)
		t.Fatalf("loaded fleet differs:\n--- saved\n%s\n--- loaded\n%s", a, b)
	}
	// Saving the same fleet again changes nothing, including timestamps.
	var before []int64
	s.db.Select(&before, "SELECT updated_at FROM hosts ORDER BY id")
	if err := s.SaveFleet(ctx, want); err != nil {
		t.Fatal(err)
	}
	var after []int64
	s.db.Select(&after, "SELECT updated_at FROM hosts ORDER BY id")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("re-saving an unchanged fleet touched hosts: %v -> %v", before, after)
	}
}

func TestSaveFleetReplacesAndKeepsHistory(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	f := sampleFleet(t)
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	run, _, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "alice", Command: "uptime", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	// Drop web2 and the whole staging environment.
	var kept []inventory.Host
	for _, h := range f.Hosts {
		if h.Name != "web2" && h.Env != "staging" {
			kept = append(kept, h)
		}
	}
	f.Hosts = kept
	f.Environments = f.Environments[1:]
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, _ := s.LoadFleet(ctx)
	if _, ok := got.Host("web2"); ok || len(got.Hosts) != len(kept) || len(got.Environments) != 1 {
		t.Fatalf("after removal: %d hosts, %d envs", len(got.Hosts), len(got.Environments))
	}
	hs, err := s.RunHosts(ctx, run.ID)
	if err != nil || len(hs) != 2 || hs[1].Host != "web2" {
		t.Fatalf("run history lost with the host: %v %v", hs, err)
	}
}

func TestInvalidFleetWritesNothing(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	f := sampleFleet(t)
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	bad := sampleFleet(t)
	bad.Hosts[0].Address = "10.9.9.9"           // a valid change...
	bad.Hosts[1].Env = "nowhere"                // ...and an invalid one
	bad.Hosts = append(bad.Hosts, bad.Hosts[2]) // plus a duplicate
	err := s.SaveFleet(ctx, bad)
	var ps inventory.Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("err = %v, want 2 problems", err)
	}
	got, _ := s.LoadFleet(ctx)
	if !reflect.DeepEqual(got, f) {
		t.Error("an invalid fleet changed the database")
	}
}

func TestUpdateFleet(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if err := s.SaveFleet(ctx, sampleFleet(t)); err != nil {
		t.Fatal(err)
	}
	_, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Hosts[0].Port = 70000
		return nil
	})
	if err == nil {
		t.Fatal("invalid update accepted")
	}
	f, err := s.UpdateFleet(ctx, func(f *inventory.Fleet) error {
		f.Hosts[0].Port = 2200
		return nil
	})
	if err != nil || f.Hosts[0].Port != 2200 {
		t.Fatalf("update: %v", err)
	}
	got, _ := s.LoadFleet(ctx)
	if got.Hosts[0].Port != 2200 {
		t.Errorf("port = %d after update", got.Hosts[0].Port)
	}
}
