package deploy

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/opsui/opsui/inventory"
)

func TestParseStrategyOneStringFormEach(t *testing.T) {
	for _, k := range StrategyKinds {
		got, err := ParseStrategy(k.String())
		if err != nil || got != k {
			t.Errorf("ParseStrategy(%q) = %q, %v", k, got, err)
		}
	}
	if k, err := ParseStrategy(""); err != nil || k != StrategyAll {
		t.Errorf(`ParseStrategy("") = %q, %v; want all`, k, err)
	}
	if _, err := ParseStrategy("blue-green"); err == nil || !strings.Contains(err.Error(), "want all, rolling or canary") {
		t.Errorf("blue-green: %v", err)
	}
	if StrategyKind("").String() != "all" {
		t.Error("the zero kind does not read all")
	}
}

func TestParseCountAndBatches(t *testing.T) {
	for _, tc := range []struct {
		in   string
		of10 int
		back string
	}{{"", 0, "0"}, {"3", 3, "3"}, {" 2 ", 2, "2"}, {"25%", 3, "25%"}, {"12.5%", 2, "12.5%"}, {"100%", 10, "100%"}, {"0%", 0, "0%"}} {
		c, err := ParseCount(tc.in)
		if err != nil || c.Of(10) != tc.of10 || c.String() != tc.back {
			t.Errorf("ParseCount(%q) = %+v (%d of 10, %q), %v", tc.in, c, c.Of(10), c.String(), err)
		}
	}
	for _, bad := range []string{"abc", "-1", "101%", "x%", "NaN%", "1.5"} {
		if _, err := ParseCount(bad); err == nil {
			t.Errorf("ParseCount(%q) took it", bad)
		}
	}
	b, err := ParseBatches("1, 5,25%")
	if err != nil || b.String() != "1,5,25%" {
		t.Errorf("ParseBatches = %v, %v", b, err)
	}
	for _, bad := range []string{"1,,2", "1,x", "abc"} {
		if _, err := ParseBatches(bad); err == nil || !strings.Contains(err.Error(), "batch sizes") {
			t.Errorf("ParseBatches(%q): %v", bad, err)
		}
	}
	// As flag values: parsed when the flag is, the error naming the flag.
	var mf Count
	if err := mf.Set("10%"); err != nil || mf.Of(20) != 2 {
		t.Errorf("--max-fail 10%%: %+v %v", mf, err)
	}
	if err := mf.Set("lots"); err == nil || !strings.Contains(err.Error(), "max-fail") {
		t.Errorf("--max-fail lots: %v", err)
	}
	var k StrategyKind
	if err := k.Set("canary"); err != nil || k != StrategyCanary {
		t.Errorf("--strategy canary: %q %v", k, err)
	}
}

func TestDefaultStrategyIsTheEnvironments(t *testing.T) {
	s := DefaultStrategy(inventory.Environment{Name: "prod", Strategy: "rolling", BatchSize: 2})
	if s.Kind != StrategyRolling || s.Batches.String() != "2" || !s.AutoRollback || s.MaxFail != (Count{}) {
		t.Errorf("rolling env: %+v", s)
	}
	if s := DefaultStrategy(inventory.Environment{Name: "dev"}); s.Kind != StrategyAll || len(s.Batches) != 0 || !s.AutoRollback {
		t.Errorf("plain env: %+v", s)
	}
}

// The batches a strategy makes, as they were when the sizes were text.
func TestStrategyBatchSizes(t *testing.T) {
	parse := func(s string) Batches {
		b, err := ParseBatches(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		kind    StrategyKind
		batches string
		n       int
		want    []int
	}{
		{StrategyAll, "", 5, []int{5}},
		{"", "3", 5, []int{5}},
		{StrategyRolling, "", 3, []int{1, 1, 1}},
		{StrategyRolling, "2", 5, []int{2, 2, 1}},
		{StrategyRolling, "1,5,25%", 20, []int{1, 5, 5, 5, 4}},
		{StrategyRolling, "25%", 3, []int{1, 1, 1}},
		{StrategyRolling, "0", 2, []int{1, 1}},
		{StrategyCanary, "", 5, []int{1, 4}},
		{StrategyCanary, "2", 5, []int{1, 2, 2}},
	} {
		got, err := Strategy{Kind: tc.kind, Batches: parse(tc.batches)}.batchSizes(tc.n)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s %q of %d: %v %v, want %v", tc.kind, tc.batches, tc.n, got, err, tc.want)
		}
	}
	if _, err := (Strategy{Kind: "blue-green"}).batchSizes(3); err == nil {
		t.Error("an unknown kind made batches")
	}
}

func TestWithStrategyRebatchesTheSamePlan(t *testing.T) {
	f := &inventory.Fleet{Environments: []inventory.Environment{{Name: "test"}},
		Apps: []inventory.App{{Name: "app", Repo: "/nonexistent", DeployTo: "/srv/app"}}}
	for i := range 5 {
		f.Hosts = append(f.Hosts, inventory.Host{Name: fmt.Sprintf("web%d", i+1), Address: "127.0.0.1", Env: "test", Roles: []string{"web"}})
	}
	p, err := NewPlan(f, f.Apps[0], f.Environments[0], f.Hosts, Source{Commit: "c0ffee"}, "20260101000000", Strategy{Kind: StrategyAll})
	if err != nil {
		t.Fatal(err)
	}
	q, err := p.WithStrategy(Strategy{Kind: StrategyRolling, Batches: Batches{{N: 2}}, MaxFail: Count{Percent: 40, IsPercent: true}})
	if err != nil {
		t.Fatal(err)
	}
	if q.Fleet != p.Fleet || q.ReleaseID != p.ReleaseID || q.Source != p.Source || len(q.Hosts) != 5 || &q.Hosts[0] != &p.Hosts[0] {
		t.Errorf("the re-batched plan is not the same deploy: %+v", q)
	}
	if len(q.Batches) != 3 || q.MaxFail != 2 || len(p.Batches) != 1 || p.MaxFail != 0 || p.Strategy.Kind != StrategyAll {
		t.Errorf("batches %d (max-fail %d), original %d (max-fail %d, %s)", len(q.Batches), q.MaxFail, len(p.Batches), p.MaxFail, p.Strategy.Kind)
	}
	if _, err := p.WithStrategy(Strategy{Kind: "blue-green"}); err == nil {
		t.Error("an unknown strategy made a plan")
	}
}
