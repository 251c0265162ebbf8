package ops

import (
	"context"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// Status looks at hosts of f for the status panel: each host's deploy tree
// (its deploy_to, else the fleet's only app's), its role's health check
// and its balancers' view of it. A host whose target cannot be resolved
// gets a failed probe saying why. It bounds its own parallelism (the
// prober's) and is safe for concurrent use.
func (s *Service) Status(ctx context.Context, f *inventory.Fleet, hosts []inventory.Host) []remote.Probe {
	var reqs []remote.ProbeRequest
	var bad []remote.Probe
	for _, h := range hosts {
		t, err := remote.ResolveTarget(h, s.SSH)
		if err != nil {
			bad = append(bad, remote.Probe{Host: h.Name, At: time.Now(), Class: remote.ClassUnreachable, Err: err})
			continue
		}
		deployTo := h.DeployTo
		if len(f.Apps) == 1 {
			deployTo = f.Apps[0].DeployToOn(h)
		}
		reqs = append(reqs, remote.ProbeRequest{Target: t, DeployTo: deployTo, Check: remote.HealthCheckFor(f, h), Balancer: remote.BalancerProbeFor(f, h)})
	}
	return append(s.prober().ProbeAll(ctx, reqs), bad...)
}
