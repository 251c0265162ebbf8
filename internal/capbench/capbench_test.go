package capbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServersFile(t *testing.T) {
	got := ServersFile([]string{"127.0.9.1", "127.0.9.2"}, []int{2201, 2202})
	if want := "127.0.9.1 2201\n127.0.9.2 2202\n"; got != want {
		t.Errorf("ServersFile = %q, want %q", got, want)
	}
}

func TestCheckServed(t *testing.T) {
	const c = "0123456789abcdef0123456789abcdef01234567"
	body := "ok release=20261204234500 commit=" + c + " host=web1 python=/x pid=7\n"
	if err := CheckServed("web1", body, c, "20261204234500"); err != nil {
		t.Errorf("right commit and release: %v", err)
	}
	if err := CheckServed("web1", body, c, ""); err != nil {
		t.Errorf("right commit, any release: %v", err)
	}
	for _, tc := range []struct{ body, commit, release, want string }{
		{body, c[:39] + "8", "", "want commit"},
		{body, c[:12], "", "want commit"}, // a prefix is not the commit
		{body, c, "20261204234501", "want release"},
		{"broken " + body[3:], c, "", "want ok"},
		{"", c, "", "want ok"},
	} {
		if err := CheckServed("web1", tc.body, tc.commit, tc.release); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CheckServed(%q, %s, %q) = %v, want %q", tc.body, tc.commit, tc.release, err, tc.want)
		}
	}
}

func TestRatioAndReport(t *testing.T) {
	s := time.Second
	size := Size{Hosts: 10, Samples: []Sample{
		{Opsui: 4 * s, Cap: 8 * s, OpsuiCPU: s / 2, CapCPU: 4 * s, Phases: Phases{Lock: s / 10, Prepare: 2 * s, Activate: s, Total: 4 * s}},
		{Opsui: 3 * s, Cap: 10 * s, OpsuiCPU: s / 2, CapCPU: 4 * s, Phases: Phases{Lock: s / 10, Prepare: 2 * s, Activate: s, Total: 3 * s}},
		{Opsui: 6 * s, Cap: 6 * s, OpsuiCPU: s / 2, CapCPU: 4 * s, Phases: Phases{Lock: s / 10, Prepare: 2 * s, Activate: s, Total: 6 * s}},
	}}
	if r := size.Ratio(); r != 0.5 {
		t.Errorf("Ratio = %v, want 0.5 (the median of 0.5, 0.3, 1)", r)
	}
	out := Report([]Size{size, {Hosts: 50}})
	for _, want := range []string{
		"| 10    |      3 |       4.00 s |            8.00 s |                 0.50 |   0.500 s |         4.00 s |",
		"| 10    | 0.0000 s | 0.100 s | 0.0000 s |  2.00 s |   1.00 s |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "| 50 ") {
		t.Errorf("a size without samples has a row:\n%s", out)
	}
}

// TestCapfileDoesTheWork guards the Capistrano side against losing a step
// of the work opsui does: each task is defined and hooked into the flow.
func TestCapfileDoesTheWork(t *testing.T) {
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "cap", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	deployRB := read("config/deploy.rb")
	for _, want := range []string{
		`set :keep_releases, 5`, `set :linked_dirs, %w[logs]`,
		`--system-site-packages`, `manage.py collectstatic --noinput`, `on primary(:db)`, `manage.py migrate --noinput`,
		`kill -HUP "$pid"`, `--chdir #{current.shellescape}`, `want = "commit=#{fetch(:current_revision)}"`,
		`after "deploy:updated", "capbench:venv"`, `after "capbench:venv", "capbench:static"`,
		`after "capbench:static", "capbench:migrate"`, `after "deploy:published", "capbench:reload"`,
		`after "capbench:reload", "capbench:health"`,
	} {
		if !strings.Contains(deployRB, want) {
			t.Errorf("config/deploy.rb lacks %s", want)
		}
	}
	if capfile := read("Capfile"); !strings.Contains(capfile, `require "capistrano/deploy"`) || !strings.Contains(capfile, "Capistrano::SCM::Git") {
		t.Errorf("Capfile does not load the stock deploy flow with git:\n%s", capfile)
	}
	if stage := read("config/deploy/production.rb"); !strings.Contains(stage, "verify_host_key: :always") || !strings.Contains(stage, "keys_only: true") {
		t.Errorf("the stage file does not pin the fleet's key and known_hosts:\n%s", stage)
	}
}
