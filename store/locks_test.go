package store

import (
	"context"
	"testing"
	"time"
)

// TestHeartbeatOfABrokenLock: once a lock is recorded broken, its former
// holder's renewals change nothing in the record.
func TestHeartbeatOfABrokenLock(t *testing.T) {
	s := openTemp(t)
	ctx := context.Background()
	l := &LockRecord{App: "app", Env: "prod", Operator: "ann", Token: "t1"}
	if err := s.RecordLock(ctx, l, []string{"web1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.BreakLock(ctx, "t1", "bob"); err != nil {
		t.Fatal(err)
	}
	before, err := s.LockByToken(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if err := s.HeartbeatLock(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	after, err := s.LockByToken(ctx, "t1")
	if err != nil {
		t.Fatal(err)
	}
	if after.HeartbeatAt != before.HeartbeatAt || after.BrokenBy != "bob" || after.ReleasedAt == 0 {
		t.Fatalf("a broken lock was renewed: %+v -> %+v", before, after)
	}
}
