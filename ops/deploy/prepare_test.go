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

// TestMigrationStartsWithItsHost proves with files that the migration,
// with no db-migrate host, starts as soon as the host it runs on (the
// first live one in the plan) is ready, not when every host is: web3's
// stage waits for the migration. When the first host fails before it, the
// migration goes to the next one in the plan's order, even when a later
// host is ready first.
func TestMigrationStartsWithItsHost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stage  func(dir string) string
		want   string
		result store.ReleaseResult
	}{
		{"first host", func(dir string) string { return waitFor("web3", dir+"/migrated") }, "web1", store.ReleaseSuccess},
		{"first host failed", func(dir string) string {
			return `if [ "$HOST" = web1 ]; then echo "web1 gives up"; exit 1; fi
` + waitFor("web2", dir+"/ready-web3") + `touch ` + remote.Quote(dir) + `/ready-$HOST
`
		}, "web2", store.ReleaseFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb := newTestbed(t, 3)
			dir, err := os.MkdirTemp("", "opsui-once-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(dir) })
			os.Chmod(dir, 0o777)
			tb.app.Migrate = "touch " + remote.Quote(dir+"/migrated") + " && echo migrated on $HOST"
			tb.app.Stages = []inventory.Stage{{Name: "a", Position: "after:shared", Run: tc.stage(dir)}}
			tb.commit("second", map[string]string{"index.html": "v2"})
			out := tb.deploy("main", Strategy{Kind: "all", MaxFail: Count{N: 1}})
			if out.Result != tc.result {
				tb.logf(out)
				t.Fatalf("result %s, want %s", out.Result, tc.result)
			}
			tb.mu.Lock()
			defer tb.mu.Unlock()
			var migratedOn []string
			for _, ev := range tb.events {
				if on, ok := strings.CutPrefix(ev.Line, "migrated on "); ok {
					migratedOn = append(migratedOn, on)
				}
			}
			if strings.Join(migratedOn, ",") != tc.want {
				t.Errorf("migrated on %v, want once on %s", migratedOn, tc.want)
			}
		})
	}
}
