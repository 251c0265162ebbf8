package deploy

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// BenchmarkStaticOnceVsPerHost deploys the Django project with static
// files of its own to OPSUI_STATIC_BENCH_HOSTS real sshd hosts (default
// 10), alternating static: once and static: per_host on the same fleet
// in interleaved rounds (OPSUI_STATIC_BENCH_ROUNDS, default 3), each a new
// commit, and reports the median deploy and prepare time of each. Both
// modes see the same machine load, which on the shared test machine
// varies more than what they differ by.
//
//	OPSUI_TEST_REQUIRE_SSHD=1 go test ./ops/deploy -run '^$' -bench StaticOnceVsPerHost -benchtime 1x
func BenchmarkStaticOnceVsPerHost(b *testing.B) {
	n := testenv.EnvInt(b, "OPSUI_STATIC_BENCH_HOSTS", 10)
	rounds := testenv.EnvInt(b, "OPSUI_STATIC_BENCH_ROUNDS", 3)
	tb, proj := newDjangoTestbed(b, n)
	commit, _ := staticProject(b, proj)
	if out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
		tb.logf(out)
		b.Fatalf("first deploy: %s", out.Result)
	}
	type times struct{ total, prepare []time.Duration }
	got := map[string]*times{inventory.StaticOnce: {}, inventory.StaticPerHost: {}}
	b.ResetTimer()
	for i := range rounds {
		modes := []string{inventory.StaticOnce, inventory.StaticPerHost}
		if i%2 == 1 {
			slices.Reverse(modes)
		}
		for _, m := range modes {
			c := projectCommit(b, proj, fmt.Sprintf("round %d, static %s", i, m),
				map[string]string{"assets/site.css": fmt.Sprintf("body { background: url(\"img/dot.svg\"); } /* %d %s */\n", i, m)})
			tb.app.Static = m
			tb.inv.Apps[0] = tb.app
			out := tb.deploy(c, Strategy{Kind: "all", AutoRollback: true})
			if out.Result != store.ReleaseSuccess {
				tb.logf(out)
				b.Fatalf("round %d, static %s: %s", i, m, out.Result)
			}
			got[m].total = append(got[m].total, out.Timing.Total)
			got[m].prepare = append(got[m].prepare, out.Timing.Prepare)
			b.Logf("round %d, static %-8s: deploy %.2f s, prepare %.2f s", i+1, m, out.Timing.Total.Seconds(), out.Timing.Prepare.Seconds())
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, m := range []string{inventory.StaticOnce, inventory.StaticPerHost} {
		b.ReportMetric(median(got[m].total).Seconds(), "s-deploy-"+m)
		b.ReportMetric(median(got[m].prepare).Seconds(), "s-prepare-"+m)
	}
	b.ReportMetric(0, "ns/op")
}
