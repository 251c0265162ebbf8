package logs

import (
	"testing"
	"time"

	"github.com/opsui/opsui/store"
)

func TestTiesReportEachOccurrenceOnce(t *testing.T) {
	a := NewAggregator()
	t0 := time.Date(2026, 12, 4, 17, 15, 34, 0, time.UTC)
	add := func(host, text string, backlog bool, at time.Duration) {
		a.Add(Line{Host: host, File: "app.log", Time: t0.Add(at), Text: text, Level: DetectLevel(text), Backlog: backlog})
	}
	add("web2", "ERROR db down", true, 0)
	add("web1", "ERROR db down", false, time.Second)
	add("web1", "ERROR cache cold", false, 2*time.Second)
	add("web1", `10.0.0.1 - - [x] "GET /cart/ HTTP/1.1" 500 0 "-" "curl"`, false, 3*time.Second)
	release := func(host string) (HostRelease, bool) {
		if host == "db1" {
			return HostRelease{}, false
		}
		return HostRelease{App: "shop", Env: "prod", ReleaseID: "20261204171534", Commit: "edc515f8", From: store.FromHost}, true
	}
	ties := NewTies()
	got := ties.Sightings(a.Top(0), release)
	by := map[string]store.ErrorSignature{}
	for _, s := range got {
		by[s.Summary] = s
	}
	if len(got) != 2 || by["ERROR db down"].Seen != 2 || by["ERROR cache cold"].Seen != 1 {
		t.Fatalf("sightings (no access-log status, every occurrence): %+v", got)
	}
	// The earliest occurrence was in web2's backlog: written under that
	// release or before.
	if s := by["ERROR db down"]; s.FirstHost != "web2" || s.ReleaseFrom != store.FromBacklog || s.FirstSeenAt != store.MillisOf(t0) {
		t.Errorf("db down: %+v", s)
	}
	if s := by["ERROR cache cold"]; s.ReleaseFrom != store.FromHost || s.FirstReleaseID != "20261204171534" {
		t.Errorf("cache cold: %+v", s)
	}
	if again := ties.Sightings(a.Top(0), release); len(again) != 0 {
		t.Errorf("reported twice: %+v", again)
	}
	add("web1", "ERROR db down", false, 4*time.Second)
	again := ties.Sightings(a.Top(0), release)
	if len(again) != 1 || again[0].Seen != 1 {
		t.Fatalf("a new occurrence: %+v", again)
	}
	// Not recorded (the store was away): reported again next time.
	ties.Forget(again)
	if retry := ties.Sightings(a.Top(0), release); len(retry) != 1 || retry[0].Seen != 1 {
		t.Errorf("after Forget: %+v", retry)
	}
	b := NewAggregator()
	b.Add(Line{Host: "db1", File: "pg.log", Time: t0, Text: "ERROR deadlock", Level: LevelError})
	if s := NewTies().Sightings(b.Top(0), release); len(s) != 0 {
		t.Errorf("a host of no app was tied: %+v", s)
	}
}
