package ops

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/opsui/opsui/internal/remotetest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// TestServiceStatus probes real hosts for the status panel: each reachable
// host is read under the fleet's only app's deploy_to, and a host whose
// target cannot be resolved comes back as an unreachable probe saying why,
// not as a missing row.
func TestServiceStatus(t *testing.T) {
	t.Parallel()
	e := remotetest.Start(t, 2)
	svc, hosts := serviceFor(t, e)
	deployTo := t.TempDir() // the sshd hosts share this machine's files
	if err := os.MkdirAll(filepath.Join(deployTo, "releases", "R7"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/R7", filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	f := &inventory.Fleet{Hosts: hosts, Apps: []inventory.App{{Name: "shop", DeployTo: deployTo}}}
	bad := inventory.Host{Name: "broken", Address: "-oProxyCommand=x"}
	probes := svc.Status(context.Background(), f, append(append([]inventory.Host(nil), hosts...), bad))
	if len(probes) != 3 {
		t.Fatalf("%d probes for 3 hosts: %+v", len(probes), probes)
	}
	by := map[string]remote.Probe{}
	for _, p := range probes {
		by[p.Host] = p
	}
	for _, h := range hosts {
		if p := by[h.Name]; !p.Reachable || p.Err != nil || p.Release != "R7" {
			t.Errorf("%s: reachable %v, release %q, %v", h.Name, p.Reachable, p.Release, p.Err)
		}
	}
	if p := by["broken"]; p.Reachable || p.Class != remote.ClassUnreachable || p.Err == nil {
		t.Errorf("broken: %+v", p)
	}
}
