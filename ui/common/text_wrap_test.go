package common

import (
	"strings"
	"testing"
)

func TestWrapIndented(t *testing.T) {
	cases := []struct {
		s    string
		w    int
		want []string
	}{
		{"short", 80, []string{"short"}},
		{"restart of shop in staging: the app servers start again on release 20261205054123", 40,
			[]string{"restart of shop in staging: the app", "  servers start again on release", "  20261205054123"}},
		{"  web1: graceful re-exec of the gunicorn master", 24,
			[]string{"  web1: graceful re-exec", "    of the gunicorn", "    master"}},
	}
	for _, c := range cases {
		got := WrapIndented(c.s, c.w)
		if strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("WrapIndented(%q, %d) = %q, want %q", c.s, c.w, got, c.want)
		}
		for _, l := range got {
			if Width(l) > c.w {
				t.Errorf("line %q is wider than %d", l, c.w)
			}
		}
	}
}
