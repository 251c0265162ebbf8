package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

func TestFreezesFromTheFleetAndTheTeam(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	weekend := inventory.Freeze{Env: "production", Reason: "weekend", Start: "Fri 16:00", End: "Mon 08:00", Every: "week", TimeZone: "Europe/Paris"}
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "production"}, {Name: "staging"}}, Freezes: []inventory.Freeze{weekend}}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	sale, err := s.AddFreeze(ctx, inventory.Freeze{Env: "production", Reason: "sale", Start: "2026-11-27 00:00", End: "2026-11-30 08:00"}, "ann@laptop")
	if err != nil || sale.ID == 0 || sale.Source != FreezeFromTeam {
		t.Fatalf("add: %+v, %v", sale, err)
	}
	if _, err := s.AddFreeze(ctx, inventory.Freeze{Env: "qa", Reason: "x", Start: "2026-11-27 00:00", End: "2026-11-30 08:00"}, "ann"); err == nil || !strings.Contains(err.Error(), `no environment "qa"`) {
		t.Errorf("a freeze of an unknown environment: %v", err)
	}
	if _, err := s.AddFreeze(ctx, inventory.Freeze{Env: "staging", Reason: "x", Start: "tomorrow", End: "2026-11-30 08:00"}, "ann"); err == nil || !strings.Contains(err.Error(), `start "tomorrow"`) {
		t.Errorf("a freeze with a bad start: %v", err)
	}
	// A second import replaces the fleet file's freezes and keeps the team's.
	f.Freezes = []inventory.Freeze{weekend, {Env: "staging", Reason: "nights", Start: "Mon 22:00", End: "Tue 06:00", Every: "week"}}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	all, err := s.Freezes(ctx, "")
	if err != nil || len(all) != 3 || all[0].Freeze != weekend || all[2].Reason != "sale" || all[2].CreatedBy != "ann@laptop" {
		t.Fatalf("freezes = %+v, %v", all, err)
	}
	prod, _ := s.Freezes(ctx, "production")
	if len(prod) != 2 {
		t.Errorf("production's freezes = %+v", prod)
	}
	loaded, err := s.LoadFleet(ctx)
	if err != nil || len(loaded.Freezes) != 2 || loaded.Freezes[1].Reason != "nights" {
		t.Errorf("the loaded fleet's freezes (what an export writes) = %+v, %v", loaded.Freezes, err)
	}
	if _, err := s.RemoveFreeze(ctx, all[0].ID); !errors.Is(err, ErrFleetFreeze) {
		t.Errorf("removing a fleet file's freeze: %v", err)
	}
	if got, err := s.RemoveFreeze(ctx, sale.ID); err != nil || got.Reason != "sale" {
		t.Errorf("remove: %+v, %v", got, err)
	}
	if _, err := s.RemoveFreeze(ctx, sale.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing it twice: %v", err)
	}

	b := BreakGlass{App: "shop", Env: "production", ReleaseID: "20261204120000", Operator: "ann@laptop", Reason: "hotfix for the checkout", Freeze: weekend.String()}
	if err := s.RecordBreakGlass(ctx, b); err != nil {
		t.Fatal(err)
	}
	bs, err := s.BreakGlasses(ctx, "shop", "production")
	if got := bs[b.ReleaseID]; err != nil || got.Reason != b.Reason || got.Operator != b.Operator || got.At == 0 {
		t.Errorf("break-glass records = %+v, %v", bs, err)
	}
}
