package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/simfleet"
	"github.com/opsui/opsui/internal/tuitest"
)

// TestConsole100SimulatedHostsInATerminal runs the real console in tmux on
// a simulated fleet of 100 hosts (internal/simfleet) of which 10 hang and
// 10 refuse connections: the header counts them, and paging through the
// fleet view shows every host with its state (up, or down with why).
func TestConsole100SimulatedHostsInATerminal(t *testing.T) {
	const n = 100
	faults := map[int]simfleet.Fault{}
	for i := 0; i < n; i += 10 {
		faults[i+3], faults[i+7] = simfleet.Hang, simfleet.Refuse
	}
	sim, err := simfleet.Start(t.Context(), simfleet.Config{N: n, Dir: t.TempDir(), Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_DATA_HOME", filepath.Join(home, "data"))
	t.Setenv("SSH_AUTH_SOCK", "")
	t.Setenv("OPSUI_DB", "")
	known, err := os.ReadFile(sim.KnownHostsPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".ssh", "known_hosts"), known, 0o600); err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	doc.WriteString("environments:\n  - name: production\nhosts:\n")
	for _, h := range sim.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: production\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, sim.User, sim.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "opsui.db")
	mustRun(t, db, "inventory", "import", file)

	term := tuitest.Start(t, 160, 50, []string{"NO_COLOR=1", "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, "data")},
		tuitest.Build(t), "--db", db, "--refresh", "2s")
	term.WaitText("80 up · 20 down", 2*time.Minute)

	row := regexp.MustCompile(`(sim\d{4})\s+(up|down)\s+(\S+)`)
	seen := map[string]string{}
	for range 20 {
		for _, m := range row.FindAllStringSubmatch(term.Screen(), -1) {
			seen[m[1]] = m[2] + " " + m[3]
		}
		if len(seen) == n {
			break
		}
		term.Keys("PageDown")
		time.Sleep(200 * time.Millisecond) // a page of keys: the screen is read again anyway
	}
	for i, h := range sim.Hosts {
		got := seen[h.Name]
		want := map[simfleet.Fault]string{simfleet.Healthy: "up ", simfleet.Hang: "down timeout", simfleet.Refuse: "down unreachable"}[faults[i]]
		if !strings.HasPrefix(got, want) {
			t.Errorf("%s (%s): the fleet view shows %q, want %q…", h.Name, faults[i], got, want)
		}
	}
	quitConsole(t, term)
}
