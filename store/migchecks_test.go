package store

import (
	"context"
	"errors"
	"testing"
)

func TestMigrationChecks(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	if _, err := s.MigrationCheckOf(ctx, "shop", "prod", "20261204120000"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("no check recorded: err = %v, want ErrNotFound", err)
	}
	c := MigrationCheck{App: "shop", Env: "prod", ReleaseID: "20261204120000", Host: "web1", Verdict: "breaking",
		Ops: `[{"op":"Remove field quantity from order"}]`}
	if err := s.SaveMigrationCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	// A resumed deploy checks again: the newer verdict replaces the older.
	c.Allowed, c.Host = "--allow-breaking-migrations by ann", "web2"
	if err := s.SaveMigrationCheck(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.MigrationCheckOf(ctx, "shop", "prod", "20261204120000")
	if err != nil || got.Host != "web2" || got.Allowed != c.Allowed || got.Ops != c.Ops || got.Verdict != "breaking" || got.CheckedAt == 0 {
		t.Fatalf("check = %+v, %v", got, err)
	}
	c.Verdict = "fine"
	if err := s.SaveMigrationCheck(ctx, c); err == nil {
		t.Error("a verdict outside safe/unknown/breaking was stored")
	}
}
