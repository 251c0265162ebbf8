package remote

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUpload(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 10)
	data := make([]byte, 20<<20)
	rand.Read(data)
	path := filepath.Join(t.TempDir(), "artifact.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)

	log := &eventLog{}
	start := time.Now()
	res, err := Upload(t.Context(), e.pool, e.targets, path,
		"mkdir -p 'dir with space' && "+WriteFileCommand("dir with space/artifact.bin"), RunOptions{}, log.emit)
	took := time.Since(start)
	if err != nil || res.OK != len(e.targets) {
		t.Fatalf("Upload: %v, %s: %v", err, res.Summary(), res.Err())
	}
	t.Logf("20 MiB to %d hosts in %v", len(e.targets), took)
	checkOrder(t, log)
	for _, tg := range e.targets {
		p := log.of(tg.Name, EventProgress)
		if len(p) == 0 || p[len(p)-1].Bytes != int64(len(data)) || p[len(p)-1].Total != int64(len(data)) {
			t.Errorf("%s: progress never reached the total: %+v", tg.Name, p[len(p)-1])
		}
		if max := int(took/DefaultProgressInterval) + 3; len(p) > max {
			t.Errorf("%s: %d progress events in %v, want at most %d", tg.Name, len(p), took, max)
		}
		for i := 1; i < len(p); i++ {
			if p[i].Bytes < p[i-1].Bytes {
				t.Errorf("%s: progress went back", tg.Name)
			}
		}
	}
	res, log = e.run(t, t.Context(), "sha256sum 'dir with space/artifact.bin'", RunOptions{})
	for _, tg := range e.targets {
		if got := log.text(tg.Name, EventStdout); !strings.HasPrefix(got, hex.EncodeToString(sum[:])+" ") {
			t.Errorf("%s: sha256 %q", tg.Name, got)
		}
	}
	if res.OK != len(e.targets) {
		t.Error(res.Summary())
	}
}

func TestUploadTarball(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 3)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, body := range map[string]string{"app/REVISION": "abc123\n", "app/manage.py": "print('hi')\n"} {
		tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	path := filepath.Join(t.TempDir(), "release.tar.gz")
	os.WriteFile(path, buf.Bytes(), 0o600)

	dir := "releases/20261123093903 ; touch pwned"
	res, err := Upload(t.Context(), e.pool, e.targets, path, ExtractTarCommand(dir), RunOptions{Shell: "/bin/sh"}, nil)
	if err != nil || res.OK != 3 {
		t.Fatalf("Upload: %v, %s: %v", err, res.Summary(), res.Err())
	}
	_, log := e.run(t, t.Context(), "cat "+Quote(dir+"/app/REVISION")+"; ls pwned 2>&1", RunOptions{})
	for _, tg := range e.targets {
		if got := log.text(tg.Name, EventStdout); !strings.HasPrefix(got, "abc123\n") || !strings.Contains(got, "No such file") {
			t.Errorf("%s: %q", tg.Name, got)
		}
	}
}

func TestUploadMissingFile(t *testing.T) {
	if _, err := Upload(t.Context(), nil, nil, filepath.Join(t.TempDir(), "nope"), "cat", RunOptions{}, nil); err == nil {
		t.Error("Upload of a missing file did not fail")
	}
	if _, err := Upload(t.Context(), nil, nil, t.TempDir(), "cat", RunOptions{}, nil); err == nil {
		t.Error("Upload of a directory did not fail")
	}
}

// TestInputCutShort cancels a transfer midway on one host, and fails
// another's local reader midway, at once: neither may leave the file under
// its final name (the command must not see a clean end of its input) nor
// any process.
func TestInputCutShort(t *testing.T) {
	t.Parallel()
	e := newExecEnv(t, 2)
	const size = 8 << 20
	hows := []string{"cancel", "reader error"}
	results := make([]Result, len(hows))
	var wg sync.WaitGroup
	for i, how := range hows {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		pr, pw := io.Pipe()
		go func() {
			pw.Write(make([]byte, 1<<20))
			time.Sleep(300 * time.Millisecond)
			if how == "cancel" {
				cancel()
				return
			}
			pw.CloseWithError(errors.New("disk on fire"))
		}()
		opts := RunOptions{KillGrace: time.Second, Stdin: func(Target) (Input, error) { return Input{R: pr, Size: size}, nil }}
		wg.Go(func() {
			results[i], _ = Run(ctx, e.pool, e.targets[i:i+1], WriteFileCommand("cut.bin")+"; echo done", opts, nil)
		})
	}
	wg.Wait()
	for i, how := range hows {
		h := results[i].Hosts[0]
		if h.Status != StatusCancelled || h.Class != ClassCancelled {
			t.Errorf("%s: %+v", how, h)
		}
		if how == "reader error" && !strings.Contains(h.Err.Error(), "disk on fire") {
			t.Errorf("%s: error %v", how, h.Err)
		}
		e.waitGone(t, i, "opsui-part", 5*time.Second)
		if out := e.remote(t, i, "ls cut.bin 2>&1"); !strings.Contains(out, "No such file") {
			t.Errorf("%s: a cut-short transfer reached the final name: %q", how, out)
		}
	}
}
