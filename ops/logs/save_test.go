package logs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSaverLabelsAndMarkers(t *testing.T) {
	var b strings.Builder
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	s := NewSaver(&b, map[string][]string{"web1": {"/var/log/app.log", "/var/log/nginx/error.log"}, "db10": {"/pg.log"}})
	s.Write(Line{Host: "web1", File: "/var/log/app.log", Time: t0, Text: "GET /"})
	s.Write(Line{Host: "db10", File: "/pg.log", Time: t0.Add(time.Second), Text: "lost", Kind: KindDropped})
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "2026-11-23T10:00:00.000Z web1 app.log   | GET /\n2026-11-23T10:00:01.000Z db10 pg.log    | -- lost --\n"
	if b.String() != want {
		t.Errorf("saved\n%q\nwant\n%q", b.String(), want)
	}
}

func TestCreateSaveFile(t *testing.T) {
	dir := t.TempDir()
	mode := func(p string) os.FileMode {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Mode()
	}

	// New: 0600 whatever the umask.
	old := syscall.Umask(0)
	fresh := filepath.Join(dir, "fresh.log")
	f, err := CreateSaveFile(fresh, false)
	syscall.Umask(old)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if m := mode(fresh).Perm(); m != 0o600 {
		t.Errorf("new save file mode %04o, want 0600", m)
	}

	// Existing: refused, untouched, unless overwrite; then 0600 and empty.
	existing := filepath.Join(dir, "existing.log")
	os.WriteFile(existing, []byte("keep me\n"), 0o644)
	if _, err := CreateSaveFile(existing, false); !errors.Is(err, fs.ErrExist) {
		t.Errorf("existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me\n" {
		t.Errorf("existing file changed: %q", b)
	}
	if f, err = CreateSaveFile(existing, true); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, _ := os.ReadFile(existing); len(b) != 0 || mode(existing).Perm() != 0o600 {
		t.Errorf("overwritten file: %q, mode %04o", b, mode(existing).Perm())
	}

	// A symlink is never followed, overwrite or not.
	target := filepath.Join(dir, "target")
	os.WriteFile(target, []byte("precious\n"), 0o644)
	link := filepath.Join(dir, "link.log")
	os.Symlink(target, link)
	dangling := filepath.Join(dir, "dangling.log")
	os.Symlink(filepath.Join(dir, "created-through-link"), dangling)
	for _, p := range []string{link, dangling} {
		for _, overwrite := range []bool{false, true} {
			if f, err := CreateSaveFile(p, overwrite); err == nil {
				f.Close()
				t.Errorf("CreateSaveFile(%s, %v) followed the symlink", filepath.Base(p), overwrite)
			}
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "precious\n" {
		t.Errorf("the symlink's target changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dir, "created-through-link")); err == nil {
		t.Error("a file was created through a dangling symlink")
	}

	// Not a regular file: refused without blocking.
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	if f, err := CreateSaveFile(fifo, true); err == nil {
		f.Close()
		t.Error("overwrote a FIFO")
	}
}
