package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestSharedEntryOutsideTheReleaseRefusedOnHost deploys with shared:
// entries that reach outside the release, as a store written by an older
// opsui could hold them (the plan is changed after NewPlan, which refuses
// them): the link step refuses on every host before touching anything,
// the deploy switches no host, and every path the entries name is intact.
func TestSharedEntryOutsideTheReleaseRefusedOnHost(t *testing.T) {
	tb := newTestbed(t, 2)
	out := tb.deploy("main", Strategy{Kind: "all"})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("first deploy: %s", out.Result)
	}
	first := out.ReleaseID
	// What the bad entries would delete: current, releases/, a directory
	// next to deploy_to and an absolute path, on every host.
	home := filepath.Dir(filepath.Dir(tb.deployTo))
	for i := range tb.fleet.Hosts {
		tb.sh(i, fmt.Sprintf("mkdir -p %[1]s/victim %[1]s/abs && echo keep > %[1]s/victim/f && echo keep > %[1]s/abs/f", home))
	}
	for _, bad := range [][]string{
		{"logs/", "../../current", "../../releases", "../../../../victim", home + "/abs", "a/../../../../../victim"},
		{"logs/\n../../current"},
		{"logs/", "media/../../../current"},
	} {
		tb.commit("change "+bad[len(bad)-1], map[string]string{"index.html": bad[len(bad)-1] + "\n"})
		p := tb.plan("main", Strategy{Kind: "all"})
		if _, err := NewPlan(p.Fleet, inventory.App{Name: "app", DeployTo: tb.deployTo, Shared: bad}, p.Env, p.Hosts, p.Source, p.ReleaseID, p.Strategy); err == nil {
			t.Errorf("NewPlan accepted shared %q", bad)
		}
		p.App.Shared = bad
		out, err := tb.deployer().Deploy(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if out.Result == store.ReleaseSuccess {
			t.Fatalf("shared %q: the deploy succeeded", bad)
		}
		for i, h := range out.Hosts {
			if h.Status != HostFailed || h.Step != "shared" || !strings.Contains(strings.Join(h.Tail, "\n"), "refused:") {
				t.Errorf("shared %q: %s %s at %s: %v\n%s", bad, h.Host, h.Status, h.Step, h.Err, strings.Join(h.Tail, "\n"))
			}
			if rel, _ := tb.current(i); rel != first {
				t.Errorf("%s: current = %s, want %s", h.Host, rel, first)
			}
			got := tb.sh(i, fmt.Sprintf("test -f %[1]s/releases/%[3]s/REVISION && echo first-ok; cat %[2]s/victim/f %[2]s/abs/f; test -f %[1]s/current/REVISION && echo current-ok",
				tb.deployTo, home, first))
			if got != "first-ok\nkeep\nkeep\ncurrent-ok" {
				t.Errorf("shared %q touched the host %s:\n%s", bad, h.Host, got)
			}
			if strings.Contains(tb.sh(i, "readlink "+tb.deployTo+"/releases/"+out.ReleaseID+"/logs || true"), "shared") {
				t.Errorf("shared %q: logs/ was linked although another entry was refused", bad)
			}
		}
	}
}

// cleanupTree makes a deploy tree under dir on host i: releases r1..r4
// (each with a REVISION) and shared/. It returns the release ids.
func cleanupTree(tb *testbed, i int, dir string) []string {
	rs := []string{"20260101000001", "20260101000002", "20260101000003", "20260101000004"}
	tb.sh(i, fmt.Sprintf("rm -rf %[1]s && mkdir -p %[1]s/shared && for r in %[2]s; do mkdir -p %[1]s/releases/$r && echo c$r > %[1]s/releases/$r/REVISION; done",
		remote.Quote(dir), strings.Join(rs, " ")))
	return rs
}

// runScript runs one of the deploy's scripts on host i with env.
func (tb *testbed) runScript(i int, script string, env map[string]string) string {
	tb.t.Helper()
	t := tb.targets[tb.fleet.Hosts[i].Name]
	out, res := runCapture(context.Background(), tb.pool, t, script, env, 30*time.Second)
	if res.Status != remote.StatusOK {
		tb.t.Fatalf("%s: %v\n%s", t.Name, res.Err, out)
	}
	return strings.TrimSpace(out)
}

// TestCleanupResolvesLinks runs the cleanup and inspect scripts on a real
// host with current made by hand (a target ending in "/"), deploy_to
// ending in "/", and deploy_to through a symlinked parent: the release
// current points at and one a process runs in are kept in every case.
func TestCleanupResolvesLinks(t *testing.T) {
	tb := newTestbed(t, 1)
	base := filepath.Join(filepath.Dir(tb.deployTo), "cleanup")
	// A process whose working directory is r1, as the kernel reports it
	// (resolved), for the length of the test.
	inUse := func(dir string) func() {
		tb.sh(0, fmt.Sprintf("cd %s/releases/20260101000001 && { setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > %s/sleep.pid; }", remote.Quote(dir), remote.Quote(base)))
		return func() { tb.sh(0, fmt.Sprintf("kill $(cat %s/sleep.pid)", remote.Quote(base))) }
	}
	tests := []struct {
		name     string
		setup    string // run in the tree's parent, after the tree is made
		deployTo string // relative to base
		current  string // current's target
		inUse    bool
		want     string // the releases left
	}{
		{"current ends in a slash", "", "app", "$T/app/releases/20260101000002/", false,
			"20260101000002 20260101000004"},
		{"relative current ends in a slash", "", "app", "releases/20260101000002/", false,
			"20260101000002 20260101000004"},
		{"deploy_to ends in a slash", "", "app/", "$T/app/releases/20260101000003", true,
			"20260101000001 20260101000003 20260101000004"},
		{"deploy_to through a symlinked parent", "ln -sfn " + base + " " + base + "-link", "../cleanup-link/app",
			"$T/app/releases/20260101000003", true, "20260101000001 20260101000003 20260101000004"},
		{"symlinked parent, current through it, ending in a slash", "ln -sfn " + base + " " + base + "-link", "../cleanup-link/app/",
			base + "-link/app/releases/20260101000002/", true, "20260101000001 20260101000002 20260101000004"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			real := base + "/app"
			cleanupTree(tb, 0, real)
			if tt.setup != "" {
				tb.sh(0, tt.setup)
			}
			target := strings.ReplaceAll(tt.current, "$T", base)
			tb.sh(0, fmt.Sprintf("ln -sfn %s %s/current", remote.Quote(target), real))
			if tt.inUse {
				defer inUse(real)()
			}
			deployTo := filepath.Join(base, tt.deployTo)
			if strings.HasSuffix(tt.deployTo, "/") {
				deployTo += "/"
			}
			env := map[string]string{"DEPLOY_TO": deployTo}
			cur := tb.runScript(0, inspectScript, env)
			wantCur := strings.TrimSuffix(filepath.Base(target), "/")
			if !strings.HasPrefix(cur, "current="+wantCur+"\nrevision=c"+wantCur) {
				t.Errorf("inspect:\n%s\nwant current=%s", cur, wantCur)
			}
			env["OPSUI_KEEP"], env["OPSUI_PROTECT"] = "1", "20260101000004"
			out := tb.runScript(0, cleanupScript, env)
			if left := strings.Join(strings.Fields(tb.sh(0, "ls "+real+"/releases")), " "); left != tt.want {
				t.Errorf("left %s, want %s\n%s", left, tt.want, out)
			}
		})
	}
}

// TestCleanupKeepsWhatItCannotCheck runs the cleanup as a user who cannot
// see other users' processes' working directories (as a deploy user
// cannot see gunicorn's as www-data): it removes nothing and says why.
// Run as root on the same tree it removes the releases no process uses.
func TestCleanupKeepsWhatItCannotCheck(t *testing.T) {
	tb := newTestbed(t, 1)
	// Under /tmp, which the unprivileged user can reach.
	dir, err := os.MkdirTemp("", "opsui-cleanup-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	real := dir + "/app"
	cleanupTree(tb, 0, real)
	tb.sh(0, fmt.Sprintf("ln -sfn releases/20260101000004 %[1]s/current && chown -R nobody: %[1]s", real))
	// root's process in r1, invisible to nobody.
	tb.sh(0, fmt.Sprintf("cd %s/releases/20260101000001 && { setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $! > %s/sleep.pid; }", real, dir))
	defer tb.sh(0, fmt.Sprintf("kill $(cat %s/sleep.pid)", dir))
	env := fmt.Sprintf("DEPLOY_TO=%s OPSUI_KEEP=1 OPSUI_PROTECT=", real)
	out := tb.sh(0, fmt.Sprintf("env %s setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c %s", env, remote.Quote(cleanupScript)))
	if left := strings.Join(strings.Fields(tb.sh(0, "ls "+real+"/releases")), " "); left != "20260101000001 20260101000002 20260101000003 20260101000004" {
		t.Errorf("as nobody: left %s\n%s", left, out)
	}
	if !strings.Contains(out, "not removed: 20260101000001 20260101000002 20260101000003: nobody cannot see the working directory of") {
		t.Errorf("as nobody, the output does not say why nothing was removed:\n%s", out)
	}
	// With sudo allowed to run readlink as root, nobody sees every process.
	// The stand-in sudo answers with what root sees (the test cannot give
	// nobody real sudo rights on a shared /etc).
	tb.sh(0, fmt.Sprintf(`mkdir -p %[1]s/bin && readlink /proc/[0-9]*/cwd > %[1]s/cwds 2>/dev/null; chmod -R a+rX %[1]s
printf '#!/bin/sh\n[ "$1" = -n ] && [ "$2" = readlink ] || exit 1\ncat %[1]s/cwds\n' > %[1]s/bin/sudo && chmod 755 %[1]s/bin/sudo`, dir))
	out = tb.sh(0, fmt.Sprintf("env PATH=%s/bin:$PATH %s setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c %s", dir, env, remote.Quote(cleanupScript)))
	if left := strings.Join(strings.Fields(tb.sh(0, "ls "+real+"/releases")), " "); left != "20260101000001 20260101000004" {
		t.Errorf("as nobody with sudo readlink: left %s\n%s", left, out)
	}
	// Root sees every process itself.
	tb.sh(0, fmt.Sprintf("for r in 20260101000002 20260101000003; do mkdir %[1]s/releases/$r && echo c$r > %[1]s/releases/$r/REVISION; done", real))
	out = tb.sh(0, fmt.Sprintf("env %s sh -c %s", env, remote.Quote(cleanupScript)))
	if left := strings.Join(strings.Fields(tb.sh(0, "ls "+real+"/releases")), " "); left != "20260101000001 20260101000004" {
		t.Errorf("as root: left %s\n%s", left, out)
	}
}

// TestCleanupReadsProcOnlyWhenAReleaseWouldGo: with no more releases than
// it keeps, cleanup never reads /proc (a stand-in readlink first in PATH
// notes every /proc lookup); with one too many it does, and removes one.
func TestCleanupReadsProcOnlyWhenAReleaseWouldGo(t *testing.T) {
	tb := newTestbed(t, 1)
	dir := tb.deployTo + "-proc"
	cleanupTree(tb, 0, dir)
	tb.sh(0, fmt.Sprintf(`ln -sfn releases/20260101000004 %[1]s/current && mkdir -p %[1]s/bin &&
printf '#!/bin/sh\ncase "$*" in *"/proc/"*) : >> %[1]s/proc-read ;; esac\nexec /usr/bin/readlink "$@"\n' > %[1]s/bin/readlink && chmod 755 %[1]s/bin/readlink`, remote.Quote(dir)))
	run := func(keep int) (string, bool) {
		out := tb.sh(0, fmt.Sprintf("rm -f %[1]s/proc-read; env PATH=%[1]s/bin:$PATH DEPLOY_TO=%[1]s OPSUI_KEEP=%d OPSUI_PROTECT= sh -c %s",
			remote.Quote(dir), keep, remote.Quote(cleanupScript)))
		read := tb.sh(0, fmt.Sprintf("[ -e %s/proc-read ] && echo read || true", remote.Quote(dir)))
		return out, strings.TrimSpace(read) == "read"
	}
	if out, read := run(4); read || !strings.Contains(out, "4 releases kept") {
		t.Errorf("keep 4 of 4: /proc read %v\n%s", read, out)
	}
	if out, read := run(3); !read || !strings.Contains(out, "removed release 20260101000001") {
		t.Errorf("keep 3 of 4: /proc read %v\n%s", read, out)
	}
}
