package deploy

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// waitFor is a stage fragment: on host, wait (30 s at most) for file.
func waitFor(host, file string) string {
	f := remote.Quote(file)
	return fmt.Sprintf(`if [ "$HOST" = %s ]; then i=0; while [ ! -e %s ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
[ -e %s ] || { echo "waited in vain for %s"; exit 1; }; fi
`, host, f, f, file)
}

// TestPrepareHostsGoTheirOwnWay proves with files, not clocks, that the
// prepare phase holds no host at each step for the others: web2's stage
// "a" waits for web3 to have run stage "b" (after "a"), which a barrier
// between the steps would never let happen; web3's "b" waits for the
// migration, which starts as soon as web1 (the db-migrate host) is
// through the steps before it, not when every host is.
func TestPrepareHostsGoTheirOwnWay(t *testing.T) {
	tb := newTestbed(t, 3)
	dir, err := os.MkdirTemp("", "opsui-prepare-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	tb.inv.Hosts[0].Roles = append(tb.inv.Hosts[0].Roles, RoleMigrate)
	tb.app.Migrate = "touch " + remote.Quote(dir+"/migrated") + " && echo migrated on $HOST"
	tb.app.Stages = []inventory.Stage{
		{Name: "a", Position: "after:shared", Run: waitFor("web2", dir+"/b-web3")},
		{Name: "b", Position: "after:a", Run: waitFor("web3", dir+"/migrated") + "touch " + remote.Quote(dir) + "/b-$HOST"},
	}
	tb.commit("second", map[string]string{"index.html": "v2"})
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("result %s, want success", out.Result)
	}
	for _, h := range []string{"web1", "web2", "web3"} {
		if _, err := os.Stat(dir + "/b-" + h); err != nil {
			t.Errorf("%s never ran stage b", h)
		}
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var migratedOn []string
	for _, ev := range tb.events {
		if strings.HasPrefix(ev.Line, "migrated on ") {
			migratedOn = append(migratedOn, strings.TrimPrefix(ev.Line, "migrated on "))
		}
	}
	if strings.Join(migratedOn, ",") != "web1" {
		t.Errorf("migrated on %v, want once on web1", migratedOn)
	}
}
