package remote

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
)

// TestUploadManyHostsNoHang uploads a 20 MB tarball to 50 real hosts at
// once into tar -xzf -, round after round on one pool, and fails when a
// host does not finish. It used to hang about one run in 15: the remote
// watchdog, blocked in the shell's read, missed the signal that was to
// stop it once the command was done, and the shell waited for it until
// the run timed out. A round that takes far longer than it should dumps
// every goroutine's stack and the hosts' processes (with their pending
// and caught signals) to a file before the hosts time out.
//
// The normal suite runs one round; OPSUI_STRESS=1 runs OPSUI_STRESS_ROUNDS
// (default 40), and OPSUI_STRESS_HOSTS and OPSUI_STRESS_MB change the
// fleet and the artifact. TestSmallInputNoHang hits the same race far
// more often per second.
func TestUploadManyHostsNoHang(t *testing.T) {
	hosts, mb, rounds := 50, 20, 1
	if testing.Short() {
		hosts, rounds = 10, 1
	}
	if os.Getenv("OPSUI_STRESS") == "1" {
		rounds = testenv.EnvInt(t, "OPSUI_STRESS_ROUNDS", 40)
		hosts = testenv.EnvInt(t, "OPSUI_STRESS_HOSTS", hosts)
		mb = testenv.EnvInt(t, "OPSUI_STRESS_MB", mb)
	}
	e := newExecEnv(t, hosts)
	path := filepath.Join(t.TempDir(), "release.tar.gz")
	writeRandomTarball(t, path, mb<<20)

	const stuckAfter = 60 * time.Second // a round takes a few seconds
	hung := 0
	for r := 1; r <= rounds; r++ {
		dir := "releases/r" + strconv.Itoa(r)
		stop := dumpIfStuck(t, r, stuckAfter)
		start := time.Now()
		res, err := Upload(t.Context(), e.pool, e.targets, path, ExtractTarCommand(dir),
			RunOptions{Timeout: stuckAfter + 30*time.Second}, nil)
		stop()
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != len(e.targets) {
			hung++
			t.Errorf("round %d: %s: %v", r, res.Summary(), res.Err())
		}
		t.Logf("round %d: %d hosts in %v", r, res.OK, time.Since(start).Round(time.Millisecond))
		// Every host has the whole file; then keep the hosts' disks small.
		res, err = Run(t.Context(), e.pool, e.targets,
			fmt.Sprintf("test $(wc -c <%s/app/blob.bin) -eq %d && rm -rf releases", dir, mb<<20), RunOptions{}, nil)
		if err != nil || res.OK != len(e.targets) {
			t.Fatalf("round %d: extracted file: %v %s %v", r, err, res.Summary(), res.Err())
		}
	}
	t.Logf("%d rounds of %d MB to %d hosts: %d failed", rounds, mb, hosts, hung)
}

// writeRandomTarball writes a gzipped tar holding one file of size random
// bytes (gzip barely shrinks it) to path.
func writeRandomTarball(t *testing.T, path string, size int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.NoCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "app/blob.bin", Mode: 0o644, Size: int64(size), Typeflag: tar.TypeReg}); err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(tw, rand.Reader, int64(size)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestSmallInputNoHang runs a command that ends as soon as its input does,
// with a small input, on many hosts, round after round: the command's end
// then races the remote watchdog's start. Before the fix, about one round
// in 40 had a host hang (OPSUI_STRESS=1: 10 x OPSUI_STRESS_ROUNDS rounds).
func TestSmallInputNoHang(t *testing.T) {
	hosts, rounds := 50, 20
	if os.Getenv("OPSUI_STRESS") == "1" {
		rounds = testenv.EnvInt(t, "OPSUI_STRESS_ROUNDS", 40) * 10
		hosts = testenv.EnvInt(t, "OPSUI_STRESS_HOSTS", hosts)
	}
	e := newExecEnv(t, hosts)
	data := make([]byte, 1000)
	stdin := func(Target) (Input, error) { return Input{R: bytes.NewReader(data), Size: int64(len(data))}, nil }
	const stuckAfter = 20 * time.Second
	failed := 0
	start := time.Now()
	for r := 1; r <= rounds; r++ {
		stop := dumpIfStuck(t, r, stuckAfter)
		res, err := Run(t.Context(), e.pool, e.targets, "cat >/dev/null", RunOptions{Stdin: stdin, Timeout: stuckAfter + 10*time.Second}, nil)
		stop()
		if err != nil {
			t.Fatal(err)
		}
		if res.OK != len(e.targets) {
			failed++
			t.Errorf("round %d: %s: %v", r, res.Summary(), res.Err())
		}
	}
	t.Logf("%d rounds of a small input to %d hosts in %v: %d failed", rounds, hosts, time.Since(start).Round(time.Millisecond), failed)
}

// dumpIfStuck writes every goroutine's stack to a temporary file when the
// returned function is not called within after.
func dumpIfStuck(t *testing.T, round int, after time.Duration) (stop func()) {
	dumped := make(chan struct{})
	timer := time.AfterFunc(after, func() {
		defer close(dumped)
		f, err := os.CreateTemp("", "opsui-hang-*.txt")
		if err != nil {
			t.Log(err)
			return
		}
		defer f.Close()
		_ = pprof.Lookup("goroutine").WriteTo(f, 2)
		// And the remote side: every process of the hosts, with its
		// pending and caught signals.
		ps, _ := exec.Command("sh", "-c", `ps -eo pid,ppid,pgid,stat,wchan:20,args --forest | grep -v ' sshd: .*\[listener\]'; `+
			`for p in $(pgrep -f _opsui); do echo "== $p: $(tr '\0' ' ' </proc/$p/cmdline | cut -c1-60)"; grep -E 'SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt' /proc/$p/status; done`).CombinedOutput()
		fmt.Fprintf(f, "\n\n=== processes\n%s", ps)
		t.Logf("round %d still running after %v: goroutines and processes in %s", round, after, f.Name())
	})
	return func() {
		if !timer.Stop() {
			<-dumped
		}
	}
}

// TestInputCommandEndsEarly: a command that stops reading its input long
// before the end (here 8 MB without a single newline) ends the run at once
// with its own status, and the remote watchdog goes with it; one that
// leaves a background job (its stdin closed) keeps it running.
func TestInputCommandEndsEarly(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 1)
	data := make([]byte, 8<<20)
	opts := RunOptions{Stdin: func(Target) (Input, error) { return Input{R: bytes.NewReader(data), Size: int64(len(data))}, nil }}
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"exit 3", 3},
		{"head -c 10 >/dev/null; echo read", 0},
		{"exec 0<&-; sleep 0.3; echo closed", 0},
	} {
		start := time.Now()
		res, _ := e.run(t, t.Context(), tc.cmd, opts)
		h := res.Hosts[0]
		if h.Code != tc.code || (tc.code == 0) != (h.Status == StatusOK) {
			t.Errorf("%q: %+v", tc.cmd, h)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%q took %v", tc.cmd, took)
		}
		e.waitGone(t, 0, "_opsui", 3*time.Second)
	}
	res, _ := e.run(t, t.Context(), "(exec 0<&-; sleep 30) >/dev/null 2>&1 & head -c 5 >/dev/null", opts)
	if res.OK != 1 {
		t.Fatalf("%s: %v", res.Summary(), res.Err())
	}
	time.Sleep(DefaultKillGrace + time.Second)
	if out := e.remote(t, 0, "pgrep -x sleep"); strings.TrimSpace(out) == "" {
		t.Error("the background job of a command that ended by itself was killed")
	}
}
