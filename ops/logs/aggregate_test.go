package logs

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// readSample reads testdata/sample.log: host, a tab, the line.
func readSample(t *testing.T) []Line {
	t.Helper()
	f, err := os.Open("testdata/sample.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Line
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		host, text, ok := strings.Cut(sc.Text(), "\t")
		if !ok || strings.HasPrefix(host, "#") {
			continue
		}
		at = at.Add(time.Second)
		out = append(out, Line{Host: host, File: "app.log", Time: at, Text: text, Level: DetectLevel(text)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDetectLevel(t *testing.T) {
	for _, tc := range []struct {
		text string
		want Level
	}{
		{"2026-11-20 10:00:02,114 ERROR [django.request] Internal Server Error", LevelError},
		{"[2026-11-20 10:00:01 +0000] [4121] [error] worker timeout", LevelError},
		{"WARNING: low disk", LevelWarning},
		{"warn: deprecated", LevelWarning},
		{"CRITICAL database unreachable", LevelCritical},
		{"Traceback (most recent call last):", LevelError},
		{`1.2.3.4 - - [x] "GET / HTTP/1.1" 502 0 "-" "-"`, LevelError},
		{`1.2.3.4 - - [x] "GET /error HTTP/1.1" 200 0 "-" "-"`, LevelNone},
		{"errors_total 0", LevelNone},
		{"TERRORIST", LevelNone},
		{"all good", LevelNone},
	} {
		if got := DetectLevel(tc.text); got != tc.want {
			t.Errorf("DetectLevel(%q) = %v, want %v", tc.text, got, tc.want)
		}
	}
}

func TestFilterOnSample(t *testing.T) {
	lines := readSample(t)
	for _, tc := range []struct {
		pattern string
		regex   bool
		want    int
		err     bool
	}{
		{"", false, len(lines), false},
		{"error", false, 12, false}, // ERROR lines, ZeroDivisionError, IntegrityError, errors_total, /error-help/
		{"ERROR", false, 12, false},
		{"zerodivisionerror", false, 3, false},
		{`" 50[0-9] `, true, 3, false},
		{`^web`, true, 0, false},
		{`views\.py", line \d+`, true, 3, false},
		{`(`, true, 0, true},
		{"(", false, 10, false}, // plain: no regex error
	} {
		f, err := NewFilter(tc.pattern, tc.regex)
		if (err != nil) != tc.err {
			t.Errorf("NewFilter(%q, %v): %v", tc.pattern, tc.regex, err)
			continue
		}
		if err != nil {
			continue
		}
		n := 0
		for _, l := range lines {
			if f.Match(l.Text) {
				n++
				if !f.Empty() && len(f.Matches(l.Text)) == 0 {
					t.Errorf("%q matches %q but highlights nothing", tc.pattern, l.Text)
				}
			}
		}
		if n != tc.want {
			t.Errorf("filter %q (regex %v): %d lines, want %d", tc.pattern, tc.regex, n, tc.want)
		}
	}
}

func TestAggregateSample(t *testing.T) {
	a := NewAggregator()
	for _, l := range readSample(t) {
		a.Add(l)
	}
	a.Flush()
	type want struct {
		summary string
		frame   string
		count   int
		hosts   string
		tb      bool
	}
	wants := []want{
		{"ZeroDivisionError: division by zero", `File "/srv/app/current/shop/views.py", line 88, in checkout: total = cart.total() / cart.count`, 3, "web1,web2", true},
		{"ERROR [django.request] Internal Server Error: /checkout/", "", 3, "web1,web2", false},
		{"500 GET /checkout/", "", 2, "web1,web2", false},
		{"ERROR [shop.tasks] payment gateway timeout", "", 2, "web1,web3", false},
		{"django.db.utils.IntegrityError: duplicate key", `File "/srv/app/current/shop/models.py", line 12, in save: raise IntegrityError("duplicate key")`, 1, "web3", true},
		{"503 POST /api/orders", "", 1, "web3", false},
		{"CRITICAL [shop] database unreachable", "", 1, "web3", false},
	}
	got := a.Top(0)
	if len(got) != len(wants) {
		for _, g := range got {
			t.Logf("%d %q %q %v", g.Count, g.Summary, g.Frame, g.Hosts)
		}
		t.Fatalf("%d groups, want %d", len(got), len(wants))
	}
	for _, w := range wants {
		i := slices.IndexFunc(got, func(g Group) bool { return g.Summary == w.summary })
		if i < 0 {
			t.Errorf("no group %q", w.summary)
			continue
		}
		g := got[i]
		if g.Count != w.count || strings.Join(g.Hosts, ",") != w.hosts || g.Traceback != w.tb || g.Frame != w.frame {
			t.Errorf("group %q: count %d hosts %v traceback %v frame %q; want %d %s %v %q",
				w.summary, g.Count, g.Hosts, g.Traceback, g.Frame, w.count, w.hosts, w.tb, w.frame)
		}
		if !g.FirstSeen.Before(g.LastSeen) && g.Count > 1 {
			t.Errorf("group %q: first seen %v, last %v", w.summary, g.FirstSeen, g.LastSeen)
		}
	}
	for i := 1; i < len(got); i++ {
		if got[i].Count > got[i-1].Count {
			t.Errorf("not sorted by count: %d after %d", got[i].Count, got[i-1].Count)
		}
	}
	if top := a.Top(2); len(top) != 2 || top[0].Count != 3 {
		t.Errorf("Top(2): %+v", top)
	}
}

func TestAggregatorBounded(t *testing.T) {
	a := NewAggregator()
	a.MaxGroups = 100
	for i := range 1000 {
		a.Add(Line{Host: "web1", Text: "ERROR distinct " + strings.Repeat("x", i%50) + string(rune('a'+i%26)) + time.Duration(i).String(), Level: LevelError})
	}
	if a.Len() > 100 {
		t.Errorf("%d groups kept, want at most 100", a.Len())
	}
}
