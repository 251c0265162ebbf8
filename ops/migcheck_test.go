package ops

import (
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

func TestRollbackMeetsTheBreakingMigrationsItDoesNotReverse(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	svc := &Service{Store: st}
	target := store.Release{App: "shop", Env: "prod", ReleaseID: "20261204100000", Commit: "aaaaaaaaaaaa1111"}
	migrated := store.Release{App: "shop", Env: "prod", ReleaseID: "20261204110000", Kind: store.KindDeploy, MigrationsApplied: true}
	unmigrated := store.Release{App: "shop", Env: "prod", ReleaseID: "20261204120000", Kind: store.KindDeploy}
	for _, r := range []store.Release{migrated, unmigrated} {
		if err := st.SaveMigrationCheck(ctx, store.MigrationCheck{App: "shop", Env: "prod", ReleaseID: r.ReleaseID, Host: "web1", Verdict: "breaking",
			Ops: `[{"app":"shop","migration":"0003_drop","op":"Remove field quantity from order","verdict":"breaking","reason":"drops column order.quantity, which old code still selects"},
{"app":"shop","migration":"0003_drop","op":"Add field note to product","verdict":"safe","reason":"nullable"}]`}); err != nil {
			t.Fatal(err)
		}
	}
	meets, err := svc.RollbackMeets(ctx, target, []store.Release{migrated, unmigrated})
	if err != nil {
		t.Fatal(err)
	}
	want := "the code of release 20261204100000 (aaaaaaaaaaaa) meets shop.0003_drop of release 20261204110000: Remove field quantity from order — drops column order.quantity"
	if len(meets) != 1 || !strings.HasPrefix(meets[0], want) {
		t.Errorf("meets = %q, want one line starting %q", meets, want)
	}
}
