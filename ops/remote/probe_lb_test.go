package remote

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// TestProbeShowsHostTextHarmless puts escape sequences where anyone who
// can write a release can: the current link's target, REVISION and the
// health check's output. The probe hands the console their visible form
// (as LineSplitter does for output lines), never a raw control character.
func TestProbeShowsHostTextHarmless(t *testing.T) {
	t.Parallel()
	e, dirs := probeEnv(t, 1)
	evil := "\x1b]0;pwned\x07\x1b[2J"
	id := "rel" + evil
	makeRelease(t, dirs[0], id, "abc"+evil+"\x9b31m")
	p := NewProber(e.pool, ProbeOptions{Timeout: 5 * time.Second})
	got := p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], DeployTo: dirs[0],
		Check: HealthCheck{Command: `printf 'up\033[31m red\033]8;;http://x\007\n'`, Desc: "evil"}})
	if !got.Reachable {
		t.Fatalf("probe: %+v", got)
	}
	for what, v := range map[string]string{"release": got.Release, "commit": got.Commit, "health": got.HealthDetail} {
		for _, r := range v {
			if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
				t.Errorf("%s %q carries control character %U", what, v, r)
			}
		}
	}
	if got.Release != "rel␛]0;pwned␇␛[2J" || !strings.HasPrefix(got.Commit, "abc␛]0;pwned") || !strings.Contains(got.HealthDetail, "up␛[31m red") {
		t.Errorf("not the visible form: release %q commit %q health %q", got.Release, got.Commit, got.HealthDetail)
	}
}

// TestProbeReadsBalancerState probes a real nginx upstream file and a real
// HAProxy's runtime API on a balancer host: what is out of rotation, and
// whether opsui's mark says opsui took it out.
func TestProbeReadsBalancerState(t *testing.T) {
	t.Parallel()
	e, _ := probeEnv(t, 1)
	dir := t.TempDir()
	upstream := filepath.Join(dir, "upstream.conf")
	doc := "upstream app {\n    server 10.0.0.1:8080 max_fails=0;\n" +
		"    server 10.0.0.2:8080 max_fails=0 down; " + DrainMark + " run=42 by=alice\x1b[2J\n" +
		"    server 10.0.0.3:8080 down;\n}\n"
	if err := os.WriteFile(upstream, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	p := NewProber(e.pool, ProbeOptions{Timeout: 5 * time.Second})
	got := p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], Balancer: &BalancerProbe{UpstreamFile: upstream}})
	want := map[string]string{"10.0.0.2:8080": DrainMark + " run=42 by=alice␛[2J", "10.0.0.3:8080": ""}
	if got.Balancer == nil || got.Balancer.Err != "" || fmt.Sprint(got.Balancer.Down) != fmt.Sprint(want) {
		t.Errorf("nginx balancer: %+v, want down %v", got.Balancer, want)
	}
	missing := p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], Balancer: &BalancerProbe{UpstreamFile: upstream + ".gone"}})
	if missing.Balancer == nil || missing.Balancer.Err == "" {
		t.Errorf("an unreadable upstream file is not said: %+v", missing.Balancer)
	}

	testenv.RequireProgram(t, "haproxy", "haproxy")
	sock := filepath.Join(dir, "admin.sock")
	cfg := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfg, []byte(fmt.Sprintf(`global
  stats socket %s mode 600 level admin
defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend app
  server web1 127.0.0.1:1
  server web2 127.0.0.1:2
  server web3 127.0.0.1:3
`, sock)), 0o644)
	ha := exec.Command("haproxy", "-f", cfg)
	if err := ha.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ha.Process.Kill(); ha.Wait() })
	send := func(cmd string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			c, err := net.Dial("unix", sock)
			if err == nil {
				fmt.Fprintf(c, "%s\n", cmd)
				buf := make([]byte, 4096)
				c.Read(buf)
				c.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("haproxy's socket: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	send("set server app/web2 state drain")
	send("set server app/web3 state maint")
	got = p.Probe(t.Context(), ProbeRequest{Target: e.targets[0], Balancer: &BalancerProbe{Socket: sock, Backend: "app"}})
	if got.Balancer == nil || got.Balancer.Kind != "haproxy" || fmt.Sprint(got.Balancer.Down) != "map[web2: web3:]" {
		t.Errorf("haproxy balancer: %+v", got.Balancer)
	}
}
