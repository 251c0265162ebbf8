package logs

import (
	"strings"
	"testing"
	"time"
)

func TestSaverLabelsAndMarkers(t *testing.T) {
	var b strings.Builder
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := NewSaver(&b, map[string][]string{"web1": {"/var/log/app.log", "/var/log/nginx/error.log"}, "db10": {"/pg.log"}})
	s.Write(Line{Host: "web1", File: "/var/log/app.log", Time: t0, Text: "GET /"})
	s.Write(Line{Host: "db10", File: "/pg.log", Time: t0.Add(time.Second), Text: "lost", Kind: KindDropped})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-23T10:00:00.000Z web1 app.log   | GET /\n2026-11-23T10:00:01.000Z db10 pg.log    | -- lost --\n"
	if b.String() != want {
		t.Errorf("saved\n%q\nwant\n%q", b.String(), want)
	}
}
