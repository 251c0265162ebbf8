package inventory

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestWatchInTheFleetFile: an app's watch: is read, resolved per
// environment, exported and read again as it was; a bad one is refused
// with each problem's place.
func TestWatchInTheFleetFile(t *testing.T) {
	bad := `environments:
  - name: production
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    watch:
      duration: 2h
      margin: 150
      repeats: -1
      baseline: soon
      environments: {staging: 10s}
      window: 5s
`
	_, err := DecodeYAML("fleet.yaml", []byte(bad))
	if err == nil {
		t.Fatal("a bad watch was accepted")
	}
	for _, want := range []string{
		"fleet.yaml:8:17: apps[0].watch.duration: duration 2h0m0s is longer than 1h0m0s",
		"fleet.yaml:9:15: apps[0].watch.margin: margin 150 is not a number of percentage points between 0 and 100",
		"fleet.yaml:10:16: apps[0].watch.repeats: repeats -1 is negative",
		`fleet.yaml:11:17: apps[0].watch.baseline: invalid duration "soon"`,
		`fleet.yaml:12:22: apps[0].watch.environments.staging: environment "staging" is not declared in environments:`,
		`fleet.yaml:13:7: apps[0].watch.window: unknown field "window"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}

	good := `environments:
  - name: production
  - name: dev
apps:
  - name: shop
    repo: /src/shop
    deploy_to: /srv/shop
    watch:
      duration: 90s
      margin: 0.5
      environments: {dev: 0s}
  - name: blog
    repo: /src/blog
    deploy_to: /srv/blog
    watch: {}
  - name: wiki
    repo: /src/wiki
    deploy_to: /srv/wiki
`
	f, err := DecodeYAML("fleet.yaml", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		app, env string
		want     WatchSettings
	}{
		{"shop", "production", WatchSettings{Duration: 90 * time.Second, Baseline: 90 * time.Second, Margin: 0.5, Repeats: 2}},
		{"shop", "dev", WatchSettings{Margin: 0.5, Repeats: 2}},
		{"blog", "production", WatchSettings{Duration: time.Minute, Baseline: time.Minute, Margin: 1, Repeats: 2}},
		{"wiki", "production", WatchSettings{}},
	} {
		a, _ := f.App(c.app)
		if got := a.Watch.For(c.env); got != c.want {
			t.Errorf("%s on %s: %+v, want %+v", c.app, c.env, got, c.want)
		}
	}
	out, err := EncodeYAML(f)
	if err != nil {
		t.Fatal(err)
	}
	g, err := DecodeYAML("again.yaml", out)
	if err != nil || !reflect.DeepEqual(g.Apps, f.Apps) {
		t.Errorf("the round trip changed the apps: %v\n%s", err, out)
	}
}
