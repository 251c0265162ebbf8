package store

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

// TestFleetKeepsTheAppsWatch: an app's watch: survives the store, a
// duration of 0 (the watch turned off) included.
func TestFleetKeepsTheAppsWatch(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	f := sampleFleet(t)
	d, off, m := inventory.Duration(90*time.Second), inventory.Duration(0), 0.5
	f.Apps[0].Watch = &inventory.Watch{Duration: &d, Baseline: inventory.Duration(time.Minute), Margin: &m, Repeats: 3,
		Environments: map[string]inventory.Duration{f.Environments[0].Name: off}}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Apps[0].Watch, f.Apps[0].Watch) {
		t.Errorf("watch %+v, want %+v", got.Apps[0].Watch, f.Apps[0].Watch)
	}
	off = inventory.Duration(0)
	f.Apps[0].Watch = &inventory.Watch{Duration: &off}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.LoadFleet(ctx); got.Apps[0].Watch == nil || got.Apps[0].Watch.Duration == nil || *got.Apps[0].Watch.Duration != 0 {
		t.Errorf("watch turned off came back as %+v", got.Apps[0].Watch)
	}
}
