package ops

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// TestFreezeRefusesDeployUntilBreakGlass freezes the environment around
// now (a team freeze, weekly, in another time zone): a deploy is refused
// naming the freeze, before any host is touched or any run recorded; with
// a break-glass reason it goes out, and the operator, the reason and the
// freeze are recorded, sent to the app's webhook and listed beside the
// release. Once the freeze is removed, deploys need no reason.
func TestFreezeRefusesDeployUntilBreakGlass(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		mu.Lock()
		got = append(got, m)
		mu.Unlock()
	}))
	defer hook.Close()
	e := newDeployEnv(t, 2, "notify: [{url: '"+hook.URL+"/hook'}]")
	ctx := t.Context()
	first := e.deployed(t)

	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	now := time.Now().In(tokyo)
	fz := inventory.Freeze{Env: "test", Reason: "year-end sale", Every: inventory.FreezeWeekly, TimeZone: "Asia/Tokyo",
		Start: now.Add(-time.Hour).Format("Mon 15:04"), End: now.Add(time.Hour).Format("Mon 15:04")}
	added, err := e.svc.AddFreeze(ctx, fz)
	if err != nil {
		t.Fatal(err)
	}
	e.commit(t, "second", "v2")
	pv, err := e.svc.PreviewDeploy(ctx, "app", "test", "")
	if err != nil {
		t.Fatal(err)
	}
	runs, _ := e.svc.Store.ListRuns(ctx, store.RunFilter{})
	out, err := e.svc.Deploy(ctx, pv.Plan, IO{})
	var fe *FrozenError
	if !errors.As(err, &fe) || out != nil || !strings.Contains(err.Error(), "year-end sale") || !strings.Contains(err.Error(), "--break-glass") {
		t.Fatalf("deploy inside the freeze: %+v, %v; want refused naming the freeze", out, err)
	}
	if after, _ := e.svc.Store.ListRuns(ctx, store.RunFilter{}); len(after) != len(runs) {
		t.Errorf("the refused deploy recorded a run (%d runs, were %d)", len(after), len(runs))
	}
	for i := range e.Fleet.Hosts {
		if cur := e.current(t, i); cur != first.ReleaseID {
			t.Errorf("host %d runs %s after a refused deploy, want %s", i, cur, first.ReleaseID)
		}
	}

	pv.Plan.BreakGlass = "checkout is down"
	out, err = e.svc.Deploy(ctx, pv.Plan, IO{})
	if err != nil || out.Result != store.ReleaseSuccess {
		t.Fatalf("break-glass deploy: %+v, %v", out, err)
	}
	bs, err := e.svc.Store.BreakGlasses(ctx, "app", "test")
	if b := bs[out.ReleaseID]; err != nil || b.Operator != "alice" || b.Reason != "checkout is down" || !strings.Contains(b.Freeze, "year-end sale") {
		t.Errorf("break-glass record: %+v, %v", bs, err)
	}
	rs, _ := e.svc.Releases(ctx, ReleaseQuery{App: "app", Env: "test"})
	notes, err := e.svc.SafetyNotes(ctx, rs)
	if err != nil || len(notes) != 1 || !strings.Contains(notes[0], out.ReleaseID+" app/test: break glass by alice: \"checkout is down\"") {
		t.Errorf("release notes: %q, %v", notes, err)
	}
	mu.Lock()
	var glass map[string]any
	for _, m := range got {
		if m["event"] == inventory.NotifyBreakGlass {
			glass = m
		}
	}
	mu.Unlock()
	if glass == nil || glass["operator"] != "alice" || !strings.Contains(glass["subject"].(string), "checkout is down") || glass["release_id"] != out.ReleaseID {
		t.Errorf("the webhook got no break-glass event naming the operator and reason: %v", glass)
	}

	if _, err := e.svc.RemoveFreeze(ctx, added.ID); err != nil {
		t.Fatal(err)
	}
	e.commit(t, "third", "v3")
	e.deployed(t)
}

func TestFreezeCheckOutsideTheWindow(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	if err := st.SaveFleet(ctx, &inventory.Fleet{Environments: []inventory.Environment{{Name: "prod"}},
		Freezes: []inventory.Freeze{{Env: "prod", Reason: "sale", Start: "2026-11-27 00:00", End: "2026-11-30 00:00"}}}); err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: st}
	if err := svc.CheckFreeze(ctx, "prod", time.Date(2026, 11, 26, 23, 59, 0, 0, time.UTC)); err != nil {
		t.Errorf("before the window: %v", err)
	}
	err := svc.CheckFreeze(ctx, "prod", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
	var fe *FrozenError
	if !errors.As(err, &fe) || !fe.Until.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) || !strings.Contains(err.Error(), "sale (fleet freeze") {
		t.Errorf("inside the window: %v", err)
	}
	if err := svc.CheckFreeze(ctx, "staging", time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("another environment: %v", err)
	}
}
