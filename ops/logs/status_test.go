package logs

import (
	"testing"
	"time"
)

// TestAccessStatus reads the status of nginx's and gunicorn's access-log
// lines, and nothing else; the aggregator's groups of them say so.
func TestAccessStatus(t *testing.T) {
	for _, c := range []struct {
		text string
		code int
		ok   bool
	}{
		{`10.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "GET /items/ HTTP/1.1" 502 157 "-" "curl/7.88"`, 502, true},
		{`127.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "GET /health/ HTTP/1.0" 200 75 "-" "Go-http-client/1.1"`, 200, true},
		{`10.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "-" 400 0 "-" "-"`, 400, true},
		{`2026-12-05 02:00:00,123 ERROR django.request: Internal Server Error: /items/`, 0, false},
		{`GET /items/ 500`, 0, false},
	} {
		if code, ok := AccessStatus(c.text); code != c.code || ok != c.ok {
			t.Errorf("AccessStatus(%q) = %d, %v; want %d, %v", c.text, code, ok, c.code, c.ok)
		}
	}
	a := NewAggregator()
	for _, text := range []string{`10.0.0.1 - - [05/Dec/2026:02:00:00 +0000] "GET /items/ HTTP/1.1" 500 1 "-" "-"`, "ERROR boom"} {
		a.Add(Line{Host: "web1", File: "f", Text: text, Level: DetectLevel(text), Time: time.Now()})
	}
	for _, g := range a.Top(0) {
		if g.IsAccess() != (g.Summary == "500 GET /items/") {
			t.Errorf("group %q: IsAccess %v", g.Summary, g.IsAccess())
		}
	}
	if a.Len() != 2 {
		t.Errorf("%d groups, want 2", a.Len())
	}
}
