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

// BenchmarkMigrationAlongside deploys the Django project to
// OPSUI_ALONG_BENCH_HOSTS real sshd hosts (default 10) in interleaved
// rounds (OPSUI_ALONG_BENCH_ROUNDS, default 3), each a new commit, with the
// migration started alongside collectstatic and, for comparison, held
// after it. Both carry one no-op stage of the app's: after the build (the
// migration still goes alongside) or between collectstatic and the
// migration (which keeps them in order), so they run the same steps. A
// third mode, "nostage", is "alongside" without the no-op stage: the
// difference is what one more SSH session per host costs, the saving a
// prepare phase run as one session per host would bring per step.
//
//	OPSUI_TEST_REQUIRE_SSHD=1 go test ./ops/deploy -run '^$' -bench MigrationAlongside -benchtime 1x
func BenchmarkMigrationAlongside(b *testing.B) {
	n := testenv.EnvInt(b, "OPSUI_ALONG_BENCH_HOSTS", 10)
	rounds := testenv.EnvInt(b, "OPSUI_ALONG_BENCH_ROUNDS", 3)
	tb, proj := newDjangoTestbed(b, n)
	commit, _ := staticProject(b, proj)
	if out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true}); out.Result != store.ReleaseSuccess {
		tb.logf(out)
		b.Fatalf("first deploy: %s", out.Result)
	}
	modes := map[string]string{"alongside": "after:build", "after": "after:collectstatic", "nostage": ""}
	type times struct{ total, prepare []time.Duration }
	got := map[string]*times{"alongside": {}, "after": {}, "nostage": {}}
	b.ResetTimer()
	for i := range rounds {
		order := []string{"alongside", "after", "nostage"}
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, m := range order {
			c := projectCommit(b, proj, fmt.Sprintf("round %d, migration %s", i, m),
				map[string]string{"assets/site.css": fmt.Sprintf("body { color: #%06x; }\n", i*2+len(m))})
			tb.app.Stages = nil
			if modes[m] != "" {
				tb.app.Stages = []inventory.Stage{{Name: "noop", Position: modes[m], Run: ":"}}
			}
			tb.inv.Apps[0] = tb.app
			out := tb.deploy(c, Strategy{Kind: "all", AutoRollback: true})
			if out.Result != store.ReleaseSuccess {
				tb.logf(out)
				b.Fatalf("round %d, migration %s: %s", i, m, out.Result)
			}
			got[m].total = append(got[m].total, out.Timing.Total)
			got[m].prepare = append(got[m].prepare, out.Timing.Prepare)
			b.Logf("round %d, migration %-9s: deploy %.2f s, prepare %.2f s", i+1, m, out.Timing.Total.Seconds(), out.Timing.Prepare.Seconds())
		}
	}
	b.StopTimer()
	median := func(d []time.Duration) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[len(s)/2]
	}
	for _, m := range []string{"alongside", "after", "nostage"} {
		b.ReportMetric(median(got[m].total).Seconds(), "s-deploy-"+m)
		b.ReportMetric(median(got[m].prepare).Seconds(), "s-prepare-"+m)
	}
	b.ReportMetric(0, "ns/op")
}
