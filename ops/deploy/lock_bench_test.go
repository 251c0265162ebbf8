package deploy

import (
	"context"
	"testing"
	"time"
)

// BenchmarkLock50Hosts takes and releases the deploy lock on 50 real sshd
// hosts over a warm pool: the lock step of every deploy (issue 21 measured
// 0.35 s for it when hosts were taken one by one).
func BenchmarkLock50Hosts(b *testing.B) {
	if testing.Short() {
		b.Skip("locks 50 sshd hosts")
	}
	tb := newTestbedWith(b, 50)
	hosts := tb.lockHosts()
	lockRound := func() time.Duration {
		owner := Owner{Operator: "bench", Token: NewToken(), Since: time.Now()}
		began := time.Now()
		l, err := acquireLock(context.Background(), tb.pool, "app", "test", hosts, owner, nil)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		if err := l.Release(context.Background()); err != nil {
			b.Fatal(err)
		}
		return took
	}
	lockRound() // warms the connections
	var total time.Duration
	n := 0
	for b.Loop() {
		total += lockRound()
		n++
	}
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "ms-lock")
}
