package webtest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// backend is a tiny HTTP server that answers "ok release=<name>" and counts
// its requests.
type backend struct {
	name  string
	addr  string
	count atomic.Int64
}

func startBackend(t *testing.T, name string) *backend {
	t.Helper()
	b := &backend{name: name}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = l.Addr().String()
	body := []byte("ok release=" + name + " pid=1\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.count.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(body)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return b
}

func wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNginxSetDownUnderLoad(t *testing.T) {
	t.Parallel()
	a, b := startBackend(t, "a"), startBackend(t, "b")
	n := StartNginx(t, "127.0.0.1:0", []string{a.addr, b.addr})
	load := StartLoad(context.Background(), n.URL("/"), 8)
	defer load.Stop()

	seen := func(keys ...string) func() bool {
		return func() bool {
			r := load.Snapshot()
			for _, k := range keys {
				if r.Releases[k].Count < 50 {
					return false
				}
			}
			return true
		}
	}
	wait(t, "both backends to serve", seen("a", "b"))

	steps := []struct{ down, up *backend }{{a, b}, {b, a}}
	for i, s := range steps {
		n.SetDown(s.up.addr, false)
		n.SetDown(s.down.addr, true)
		before := s.down.count.Load()
		upBefore := s.up.count.Load()
		wait(t, s.up.name+" to take more requests", func() bool { return s.up.count.Load() > upBefore+200 })
		if got := s.down.count.Load(); got != before {
			t.Errorf("step %d: backend %s marked down got %d requests after the reload", i, s.down.name, got-before)
		}
		if down := n.Backends(); !down[s.down.addr] || down[s.up.addr] {
			t.Errorf("step %d: Backends() = %v", i, down)
		}
	}
	r := load.Stop()
	t.Logf("load: %v", r)
	if r.Failed != 0 || r.Total == 0 {
		t.Errorf("%d of %d requests failed: %v", r.Failed, r.Total, r)
	}
	if got := r.Keys(); !slices.Equal(got, []string{"a", "b"}) && !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("keys %v", got)
	}
	if up, err := os.ReadFile(n.UpstreamPath); err != nil || !strings.Contains(string(up), b.addr+" max_fails=0 down;\n") {
		t.Errorf("upstream file:\n%s (%v)", up, err)
	}
}

func TestNginxStopsAtCleanup(t *testing.T) {
	t.Parallel()
	a := startBackend(t, "a")
	var pid int
	var addr string
	t.Run("run", func(t *testing.T) {
		n := StartNginx(t, "127.0.0.1:0", []string{a.addr}, WithAccessLog())
		pid, addr = n.PID(), n.Addr
		resp, err := http.Get(n.URL("/x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("status %d", resp.StatusCode)
		}
		n.Reload()
		wait(t, "the access log", func() bool {
			b, _ := os.ReadFile(n.AccessLog)
			return strings.Contains(string(b), "GET /x ")
		})
	})
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("nginx master %d still running after cleanup", pid)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after cleanup", addr)
	}
}

func TestLoadCountsFailuresAndKeys(t *testing.T) {
	t.Parallel()
	var n atomic.Int64
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.Add(1)
		switch {
		case i%10 == 0:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "broken release=r2 host=h%d\n", i%2)
		case i%10 == 5:
			fmt.Fprint(w, "no fields here\n")
		default:
			fmt.Fprintf(w, "ok xrelease=nope release=r1 host=h%d\n", i%2)
		}
	})}
	go func() { _ = srv.Serve(l) }()
	url := "http://" + l.Addr().String() + "/"

	load := StartLoad(context.Background(), url, 4, KeyFields("host", "release"))
	wait(t, "1000 requests", func() bool { return load.Snapshot().Total >= 1000 })
	srv.Close() // now every request fails with a transport error
	time.Sleep(50 * time.Millisecond)
	r := load.Stop()
	t.Logf("load: %v", r)

	if r.ByStatus[0] == 0 {
		t.Errorf("no transport error counted after the server closed: %v", r)
	}
	if want := r.ByStatus[0] + r.ByStatus[500]; r.Failed != want || r.ByStatus[500] == 0 {
		t.Errorf("failed %d, want %d (500s and transport errors): %v", r.Failed, want, r)
	}
	if r.ByStatus[200]+r.ByStatus[500]+r.ByStatus[0] != r.Total {
		t.Errorf("statuses do not add up to %d: %v", r.Total, r.ByStatus)
	}
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range r.Releases {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"h0 r1", "h0 r2", "h1 r1"}; !slices.Equal(keys, want) {
		// i%10 == 0 is even, so r2 always comes from h0.
		t.Errorf("keys %v, want %v", keys, want)
	}
	for k, s := range r.Releases {
		if s.Count == 0 || s.First.After(s.Last) || s.First.Before(r.Start) {
			t.Errorf("%s: %+v", k, s)
		}
	}
	if again := load.Stop(); again.Total != r.Total {
		t.Errorf("second Stop: %d requests, first %d", again.Total, r.Total)
	}
}

func TestLoadStopsWithContext(t *testing.T) {
	t.Parallel()
	b := startBackend(t, "x")
	ctx, cancel := context.WithCancel(context.Background())
	load := StartLoad(ctx, "http://"+b.addr+"/", 2)
	wait(t, "requests", func() bool { return load.Snapshot().Total > 10 })
	cancel()
	done := make(chan LoadResult)
	go func() { done <- load.Stop() }()
	select {
	case r := <-done:
		if r.Failed != 0 {
			t.Errorf("cancelling failed requests: %v", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop hangs after the context was cancelled")
	}
}

// shRunner runs commands locally.
func shRunner(cmd string) (string, error) {
	out, err := exec.Command("/bin/sh", "-c", cmd).CombinedOutput()
	return string(out), err
}

func TestCheckReleaseAndReleasesInUse(t *testing.T) {
	t.Parallel()
	deployTo := filepath.Join(t.TempDir(), "srv dir", "shop's")
	for _, id := range []string{"20260101000000", "20260102000000", "20260103000000"} {
		if err := os.MkdirAll(filepath.Join(deployTo, "releases", id), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(deployTo, "releases", id, "REVISION"), []byte("commit-"+id+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("releases/20260102000000", filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	s := CheckRelease(t, shRunner, deployTo, "20260102000000", "commit-20260102000000")
	if s.ReleaseID() != "20260102000000" || len(s.Releases) != 3 {
		t.Errorf("state %+v", s)
	}
	for _, c := range []struct{ id, commit, want string }{
		{"20260103000000", "commit-20260103000000", "want \"releases/20260103000000\""},
		{"20260102000000", "other", "REVISION"},
	} {
		if err := s.Check(deployTo, c.id, c.commit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%s, %s) = %v, want an error with %q", c.id, c.commit, err, c.want)
		}
	}
	// A dangling current is not valid.
	if err := os.RemoveAll(filepath.Join(deployTo, "releases", "20260102000000")); err != nil {
		t.Fatal(err)
	}
	s, err := ReadRelease(shRunner, deployTo)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(deployTo, "20260102000000", "commit-20260102000000"); err == nil || !s.IsLink || s.Resolves {
		t.Errorf("dangling current: %+v, %v", s, err)
	}

	if ids, err := ReleasesInUse(shRunner, deployTo); err != nil || len(ids) != 0 {
		t.Errorf("in use with no process: %v, %v", ids, err)
	}
	// A process started in the current symlink holds the release it
	// resolved to, even after current moves on.
	if err := os.Remove(filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/20260101000000", filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	sleep := exec.Command("sleep", "60")
	sleep.Dir = filepath.Join(deployTo, "current")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	if err := os.Remove(filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("releases/20260103000000", filepath.Join(deployTo, "current")); err != nil {
		t.Fatal(err)
	}
	ids, err := ReleasesInUse(shRunner, deployTo)
	if err != nil || !slices.Equal(ids, []string{"20260101000000"}) {
		t.Errorf("in use: %v, %v; want the release the sleep resolved", ids, err)
	}
}
