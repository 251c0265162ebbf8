package store

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

func TestEnvHashes(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	k1, err := s.EnvHashKey(ctx)
	if err != nil || len(k1) != 32 {
		t.Fatalf("key %x, %v", k1, err)
	}
	k2, _ := s.EnvHashKey(ctx)
	if !bytes.Equal(k1, k2) {
		t.Fatal("the hash key changed between two calls")
	}
	if err := s.SaveEnvHashes(ctx, "shop", "prod", "web1", []EnvHash{{Name: "A", Hash: "h1"}, {Name: "KEY", Hash: "h2", Secret: "k"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveEnvHashes(ctx, "shop", "prod", "web2", []EnvHash{{Name: "A", Hash: "h1"}}); err != nil {
		t.Fatal(err)
	}
	// A new render replaces the host's hashes: B gone, A changed.
	if err := s.SaveEnvHashes(ctx, "shop", "prod", "web1", []EnvHash{{Name: "A", Hash: "h3"}}); err != nil {
		t.Fatal(err)
	}
	hs, err := s.EnvHashes(ctx, "shop", "prod")
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 2 || hs[0].Host != "web1" || hs[0].Hash != "h3" || hs[1].Host != "web2" || hs[0].RenderedAt == "" {
		t.Fatalf("hashes = %+v", hs)
	}
	if other, _ := s.EnvHashes(ctx, "shop", "staging"); len(other) != 0 {
		t.Fatalf("staging has %+v", other)
	}
}

// TestFleetKeepsEnv: an app's environment, overrides and secret sources
// survive the store (secret references only: the store never sees a value).
func TestFleetKeepsEnv(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod"}},
		Apps: []inventory.App{{Name: "shop", Repo: "/src", DeployTo: "/srv/shop",
			Env:               map[string]inventory.EnvValue{"A": {Value: "1"}, "KEY": {Secret: "k"}},
			EnvPerEnvironment: map[string]map[string]inventory.EnvValue{"prod": {"A": {Value: "2"}}},
			EnvPerHost:        map[string]map[string]inventory.EnvValue{"web1": {"A": {Value: "3"}}},
			Secrets:           map[string]inventory.SecretSource{"k": {Command: "pass show k", Timeout: inventory.Duration(time.Second)}}}},
		Hosts: []inventory.Host{{Name: "web1", Address: "10.0.0.1", Env: "prod"}}}
	if err := s.SaveFleet(ctx, f); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadFleet(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Apps[0], f.Apps[0]) {
		t.Errorf("app after the store:\n%+v\nwant\n%+v", got.Apps[0], f.Apps[0])
	}
}
