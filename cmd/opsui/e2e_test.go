package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/internal/tuitest"
	"github.com/opsui/opsui/ops/remote"
)

// TestConsoleInATerminal runs the real binary in tmux: the fleet imported
// by the CLI shows up grouped, the filter narrows it, and q quits cleanly.
func TestConsoleInATerminal(t *testing.T) {
	bin := tuitest.Build(t)
	db := filepath.Join(t.TempDir(), "opsui.db")
	if out, err := exec.Command(bin, "--db", db, "inventory", "import", fleetFile).CombinedOutput(); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1"}, bin, "--db", db)
	term.WaitText("10 hosts · 2 environments", 10*time.Second)
	screen := term.WaitText("production (protected) · web · 2", 5*time.Second)
	if !strings.Contains(screen, "stg-db1") {
		t.Fatalf("fleet not listed:\n%s", screen)
	}
	term.Type("/canary")
	term.WaitText("/canary", 5*time.Second) // every letter has arrived
	term.Keys("Enter")
	screen = term.WaitFor("the filter to apply", 5*time.Second, func(s string) bool {
		return !strings.Contains(s, "stg-db1") && strings.Contains(s, "web1")
	})
	if strings.Contains(screen, "web2") {
		t.Errorf("filter canary still shows web2:\n%s", screen)
	}
	term.Keys("Space")
	term.WaitText("1 selected", 5*time.Second)
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestConsoleRunsACommandOnRealHosts selects two hosts in the console, runs
// uname -n on them over real sshd, and reads each host's pane.
func TestConsoleRunsACommandOnRealHosts(t *testing.T) {
	bin := tuitest.Build(t)
	_, db := execFleet(t, 3, true)
	term := tuitest.Start(t, 120, 30, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")}, bin, "--db", db)
	term.WaitText("3 hosts", 10*time.Second)
	term.Keys("Space", "Space") // web1, web2
	term.WaitText("2 selected", 5*time.Second)
	term.Keys("x")
	term.WaitText("command>", 5*time.Second)
	term.Type("uname -n; echo done-$((6*7))")
	term.Keys("Enter")
	screen := term.WaitText("done: 2 ok", 15*time.Second)
	for _, want := range []string{"web1 · ok", "web2 · ok", "done-42"} {
		if !strings.Contains(screen, want) {
			t.Errorf("run view lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "web3 ·") {
		t.Errorf("ran on unselected web3:\n%s", screen)
	}
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second) // the fleet list again
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// statusFleet starts n real sshd hosts, each with a deploy tree made over
// SSH whose current points at release (or at drift[host] for those hosts),
// and imports them into a fresh database with HOME set up as execFleet
// does. It returns the fleet and the database path.
func statusFleet(t *testing.T, n int, release string, drift map[string]string) (*sshtest.Fleet, string) {
	t.Helper()
	fleet, _ := execFleet(t, n, true)
	cfg := fleet.ClientConfig(t)
	var doc strings.Builder
	doc.WriteString("environments:\n  - name: test\nhosts:\n")
	for _, h := range fleet.Hosts {
		deployTo := filepath.Join(fleet.Dir, "deploy", h.Name)
		rel := release
		if r, ok := drift[h.Name]; ok {
			rel = r
		}
		dir := deployTo + "/releases/" + rel
		sshRun(t, h.Address(), cfg, fmt.Sprintf("mkdir -p %s && echo %s > %s && ln -sfn %s %s",
			remote.Quote(dir), remote.Quote("c0ffee"+rel), remote.Quote(dir+"/REVISION"), remote.Quote("releases/"+rel), remote.Quote(deployTo+"/current")))
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n    deploy_to: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath, deployTo)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "status.db")
	mustRun(t, db, "inventory", "import", file)
	return fleet, db
}

// sshRun runs cmd on the host at addr, failing the test if it fails.
func sshRun(t *testing.T, addr string, cfg *ssh.ClientConfig, cmd string) {
	t.Helper()
	if out, err := sshExec(t, addr, cfg, cmd); err != nil {
		t.Fatalf("ssh %s %q: %v\n%s", addr, cmd, err, out)
	}
}

// sshExec runs cmd on the host at addr over a connection of its own and
// returns its combined output; only a failure to connect fails the test.
func sshExec(t *testing.T, addr string, cfg *ssh.ClientConfig, cmd string) (string, error) {
	t.Helper()
	c, err := ssh.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("ssh %s: %v", addr, err)
	}
	defer c.Close()
	s, err := c.NewSession()
	if err != nil {
		t.Fatalf("ssh %s: %v", addr, err)
	}
	defer s.Close()
	out, err := s.CombinedOutput(cmd)
	return string(out), err
}

// TestConsoleStatusPanel runs the real binary in tmux at 120x40 on 20 real
// sshd hosts: every host shows up with its release, the one on another
// release is marked as drifting, and a host whose sshd is killed is marked
// unreachable within two refreshes.
func TestConsoleStatusPanel(t *testing.T) {
	bin := tuitest.Build(t)
	const release, old = "20250301100000", "20250220090000"
	fleet, db := statusFleet(t, 20, release, map[string]string{"web7": old})
	term := tuitest.Start(t, 120, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		bin, "--db", db, "--refresh", "1s")
	term.WaitText("20 up", 30*time.Second)
	screen := term.WaitText("1 host drifts", 5*time.Second)
	for _, h := range fleet.Hosts {
		line := screenRow(screen, h.Name)
		want := release
		if h.Name == "web7" {
			want = old + " drift"
		}
		if !strings.Contains(line, " up ") || !strings.Contains(line, want) {
			t.Errorf("row of %s lacks up and %q: %q", h.Name, want, line)
		}
	}

	const refresh = time.Second
	fleet.Host("web3").Kill()
	killed := time.Now()
	screen = term.WaitFor("web3 marked down", 2*refresh+2*time.Second, func(s string) bool {
		return strings.Contains(screenRow(s, "web3"), "down")
	})
	took := time.Since(killed)
	t.Logf("web3 marked down %v after its sshd was killed (refresh %v)", took.Round(time.Millisecond), refresh)
	if took > 2*refresh+500*time.Millisecond {
		t.Errorf("web3 marked down after %v, more than two refreshes", took)
	}
	if row := screenRow(screen, "web3"); !regexp.MustCompile(`(unreachable|connection-lost|timeout) since \d\d:\d\d:\d\d`).MatchString(row) {
		t.Errorf("web3's row does not say why and since when: %q", row)
	}
	term.WaitText("19 up · 1 down", 5*time.Second)
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// screenRow returns the fleet row of host on screen, "" when none.
func screenRow(screen, host string) string {
	re := regexp.MustCompile(`^\S?\s*` + regexp.QuoteMeta(host) + `\s`)
	for _, l := range strings.Split(screen, "\n") {
		if re.MatchString(l) {
			return l
		}
	}
	return ""
}

// TestConsoleAsksAboutUnknownHostKeys opens the console on two hosts whose
// keys nobody knows: the probes' handshakes ask in a dialog. Enter refuses
// (the default), y trusts and records the key in opsui's known_hosts.
func TestConsoleAsksAboutUnknownHostKeys(t *testing.T) {
	bin := tuitest.Build(t)
	fleet, db := execFleet(t, 2, false)
	term := tuitest.Start(t, 120, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME")},
		bin, "--db", db, "--refresh", "1s")
	hostIn := regexp.MustCompile(`host\s+(web\d)\s`)
	screen := term.WaitText("Unknown host key", 15*time.Second)
	m := hostIn.FindStringSubmatch(screen)
	if m == nil || !strings.Contains(screen, "SHA256:") || !strings.Contains(screen, "ssh-ed25519") {
		t.Fatalf("host-key dialog:\n%s", screen)
	}
	refused := m[1]
	time.Sleep(400 * time.Millisecond) // a dialog ignores keys for its first 300ms
	term.Keys("Enter")
	screen = term.WaitFor("the second host's question", 15*time.Second, func(s string) bool {
		m := hostIn.FindStringSubmatch(s)
		return strings.Contains(s, "Unknown host key") && m != nil && m[1] != refused
	})
	trusted := hostIn.FindStringSubmatch(screen)[1]
	time.Sleep(400 * time.Millisecond)
	term.Keys("y")
	screen = term.WaitFor("the trusted host up, the refused one down", 15*time.Second, func(s string) bool {
		return strings.Contains(screenRow(s, trusted), " up ") && strings.Contains(screenRow(s, refused), "hostkey-unknown since")
	})
	if strings.Contains(screen, "Unknown host key") {
		t.Errorf("the refused key was asked about again:\n%s", screen)
	}
	known, err := os.ReadFile(filepath.Join(os.Getenv("XDG_DATA_HOME"), "opsui", "known_hosts"))
	if err != nil || strings.Count(string(known), "\n") != 1 || !strings.Contains(string(known), fleet.Host(trusted).Addr) {
		t.Errorf("opsui's known_hosts (%v):\n%s", err, known)
	}
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

// TestConsoleRunsOnTheWebRoleAndReplaysIt runs the real binary in tmux at
// 120x40 on 20 real sshd hosts: the web role is filtered and selected, uname
// -n runs on it, the run view lists every host ok and each host's pane shows
// the host's own name; then the run is reopened from the past runs list,
// replayed from the store.
func TestConsoleRunsOnTheWebRoleAndReplaysIt(t *testing.T) {
	bin := tuitest.Build(t)
	fleet, db := execFleet(t, 20, true)
	term := tuitest.Start(t, 120, 40, []string{"NO_COLOR=1", "HOME=" + os.Getenv("HOME"), "XDG_DATA_HOME=" + os.Getenv("XDG_DATA_HOME"),
		"XDG_CONFIG_HOME=" + t.TempDir()}, bin, "--db", db)
	term.WaitText("20 hosts", 10*time.Second)
	term.Type("/web")
	term.WaitText("/web", 5*time.Second)
	term.Keys("Enter", "a")
	term.WaitText("20 selected", 5*time.Second)
	term.Keys("x")
	term.WaitText("command>", 5*time.Second)
	term.Type("uname -n")
	term.WaitText("command> uname -n", 5*time.Second)
	term.Keys("Enter")
	term.WaitText("done: 20 ok", 60*time.Second)
	// Twenty outputs, one per host, listed by output; t: the per-host list.
	term.WaitText("20 outputs across 20 hosts", 10*time.Second)
	term.Keys("t")
	screen := term.WaitFor("the per-host list", 10*time.Second, func(s string) bool { return !strings.Contains(s, "outputs across") })
	for _, h := range fleet.Hosts {
		if !regexp.MustCompile(`(?m)^[> ] ` + regexp.QuoteMeta(h.Name) + ` ok \d`).MatchString(screen) {
			t.Errorf("the list has no ok row for %s:\n%s", h.Name, screen)
		}
	}
	seen := visitPanes(t, term, len(fleet.Hosts))
	if len(seen) != len(fleet.Hosts) {
		t.Errorf("panes that showed their host's name: %v", seen)
	}

	// Leave the run, reopen it from the past runs list.
	term.Keys("Escape")
	term.WaitText("HOST", 5*time.Second)
	term.Keys("P")
	term.WaitFor("the run in the past runs list", 10*time.Second, func(s string) bool {
		return regexp.MustCompile(`run \d+ .* exec +ok .*uname -n · 20 ok`).MatchString(s)
	})
	term.Keys("Enter")
	screen = term.WaitText("(recorded", 10*time.Second)
	if !strings.Contains(screen, "done: 20 ok") {
		t.Errorf("the replay's summary:\n%s", screen)
	}
	if seen := visitPanes(t, term, 3); len(seen) != 3 {
		t.Errorf("replayed panes that showed their host's name: %v", seen)
	}
	term.Keys("Escape") // back to the list
	term.WaitText("past runs", 5*time.Second)
	term.Keys("Escape") // alone: escape and q at once read as alt+q
	term.WaitText("HOST", 5*time.Second)
	term.Keys("q")
	if code := term.WaitExit(5 * time.Second); code != 0 {
		t.Errorf("exit status %d", code)
	}
}

var (
	paneTitle = regexp.MustCompile(`[│┃] > (web\d+) · ok`) // the focused pane: thick, its title marked
	paneLine  = regexp.MustCompile(`(?m)[│┃] (web\d+)\s+[│┃]\s*$`)
)

// visitPanes walks the run view's host list with j, n hosts from the
// focused one, checking that each focused pane's output is its host's
// name; it returns the hosts seen.
func visitPanes(t *testing.T, term *tuitest.Term, n int) map[string]bool {
	t.Helper()
	seen := map[string]bool{}
	for range n {
		screen := term.WaitFor("a new host's pane with its name", 10*time.Second, func(s string) bool {
			title, line := paneTitle.FindStringSubmatch(s), paneLine.FindStringSubmatch(s)
			return title != nil && line != nil && title[1] == line[1] && !seen[title[1]]
		})
		seen[paneTitle.FindStringSubmatch(screen)[1]] = true
		term.Keys("j")
	}
	return seen
}
