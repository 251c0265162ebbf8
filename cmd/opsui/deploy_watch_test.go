package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployWatchFlag: --watch takes a duration from 0 (no watch) to an
// hour; anything else is a usage error (exit 2) before anything is read.
func TestDeployWatchFlag(t *testing.T) {
	db := filepath.Join(t.TempDir(), "opsui.db")
	for _, tc := range []struct {
		arg, want string
	}{
		{"-5s", "--watch -5s: want a duration from 0 (no watch) to 1h"},
		{"2h", "--watch 2h0m0s: want a duration from 0 (no watch) to 1h"},
		{"soon", `invalid argument "soon" for "--watch" flag`},
	} {
		out, code := runWithStdin(t, db, nil, "deploy", "shop", "--env", "production", "--watch", tc.arg)
		if code != 2 || !strings.Contains(out, tc.want) {
			t.Errorf("--watch %s: exit %d, want 2 with %q:\n%s", tc.arg, code, tc.want, out)
		}
	}
}
