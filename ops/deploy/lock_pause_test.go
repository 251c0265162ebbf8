package deploy

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/sshtest"
)

// TestRenewalAnsweredLateDoesNotExtendTheLease: a renewal is sent, the
// host renews, then the lock is broken there (another operator's unlock)
// and the answer reaches the holder only 3 s later, past its 2 s lease,
// as when the holder was paused (SIGSTOP, a laptop's sleep) while the
// answer was on its way. The lease runs from the sending: a Check right
// after the answer renews first and finds the lock lost, instead of
// letting a step go to the host as if the lock had just been renewed.
func TestRenewalAnsweredLateDoesNotExtendTheLease(t *testing.T) {
	t.Setenv(LeaseEnv, "2s")
	bin, armed := t.TempDir(), filepath.Join(t.TempDir(), "armed")
	// mv as usual; once armed, the renewal's mv of the heartbeat then
	// breaks the lock and answers 3 s late.
	mv := "#!/bin/sh\n/bin/mv \"$@\" || exit\nfor last; do :; done\n" +
		"case $last in */.opsui-lock/heartbeat) if rm -- " + armed + " 2>/dev/null; then rm -rf -- \"${last%/heartbeat}\"; sleep 3; fi ;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "mv"), []byte(mv), 0o755); err != nil {
		t.Fatal(err)
	}
	tb := newTestbedWith(t, 1, sshtest.WithHostEnv(func(string) map[string]string {
		return map[string]string{"PATH": bin + ":/usr/sbin:/usr/bin:/sbin:/bin"}
	}))
	ctx := t.Context()
	l, err := acquireLock(ctx, tb.pool, "app", "test", tb.lockHosts(), Owner{Operator: "tester", Token: NewToken(), Since: time.Now()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release(context.Background())
	// The heartbeat runs every lease/6; stop it, so this test's own
	// renewal is the only one.
	l.stop()
	<-l.done
	if err := os.WriteFile(armed, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	h := l.hosts[0]
	if err := l.renew(ctx, h); err != nil {
		t.Fatalf("the renewal before the break: %v", err)
	}
	if _, err := os.Stat(armed); err == nil {
		t.Fatal("the renewal did not go through the armed mv")
	}
	err = l.Check(ctx, h.target.Name)
	var lost *LockLostError
	if !errors.As(err, &lost) {
		t.Fatalf("Check after a renewal answered past the lease: %v, want the lock lost (it was broken)", err)
	}
	t.Log(err)
}
