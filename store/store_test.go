package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), testTarget(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenCreatesPrivateFileWithSchema(t *testing.T) {
	sqliteOnly(t, "the file's modes and pragmas")
	dir := filepath.Join(t.TempDir(), "nested", "opsui")
	path := filepath.Join(dir, "opsui.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %o, want %o", p, got, want)
		}
	}
	var version int
	if err := s.db.Get(&version, "PRAGMA user_version"); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion() || version < 1 {
		t.Errorf("user_version = %d, want %d", version, SchemaVersion())
	}
	var mode string
	if err := s.db.Get(&mode, "PRAGMA journal_mode"); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
	var fk int
	if err := s.db.Get(&fk, "PRAGMA foreign_keys"); err != nil || fk != 1 {
		t.Errorf("foreign_keys = %d, %v; want 1", fk, err)
	}
}

func TestReopenIsANoOp(t *testing.T) {
	sqliteOnly(t, "PRAGMA schema_version (TestPostgresReopenIsANoOp)")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsui.db")
	// An empty file, as a user might `touch` it, is a new database.
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var before int
	s.db.Get(&before, "PRAGMA schema_version")
	s.Close()

	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var after int
	s.db.Get(&after, "PRAGMA schema_version")
	if before == 0 || before != after {
		t.Errorf("schema_version %d -> %d: re-open changed the schema", before, after)
	}
}

func TestNewerDatabaseIsRefusedUntouched(t *testing.T) {
	sqliteOnly(t, "the file's checksum (TestPostgresNewerSchemaIsRefused)")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "opsui.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("PRAGMA user_version = 999"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	sum := fileSum(t, path)

	_, err = Open(ctx, path)
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("err = %v, want ErrTooNew", err)
	}
	if !strings.Contains(err.Error(), "schema version 999") || !strings.Contains(err.Error(), "upgrade opsui") {
		t.Errorf("message does not explain: %v", err)
	}
	if fileSum(t, path) != sum {
		t.Error("the newer database was modified")
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestCorruptDatabase(t *testing.T) {
	sqliteOnly(t, "a property of the SQLite file")
	ctx := context.Background()
	t.Run("not sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "opsui.db")
		os.WriteFile(path, []byte("hosts:\n  - name: web1\n"), 0o600)
		_, err := Open(ctx, path)
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
			t.Fatalf("err = %v, want ErrCorrupt naming the file", err)
		}
	})
	t.Run("damaged pages", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "opsui.db")
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		s.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		s.Close()
		b, _ := os.ReadFile(path)
		// Keep the 100-byte header, scribble over the schema page.
		for i := 100; i < 4096 && i < len(b); i++ {
			b[i] = 0xA5
		}
		os.WriteFile(path, b, 0o600)
		_, err = Open(ctx, path)
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("err = %v, want ErrCorrupt", err)
		}
		if !strings.Contains(err.Error(), "restore a backup or move it aside") {
			t.Errorf("no advice in %q", err)
		}
	})
}

func TestReadOnlyDirectory(t *testing.T) {
	sqliteOnly(t, "a property of the SQLite file")
	dir := readOnlyDir(t)
	_, err := Open(context.Background(), filepath.Join(dir, "opsui.db"))
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error does not name the path: %v", err)
	}
}

// An existing database on a file system that became read-only: SQLite cannot
// create its WAL files, and the error must say so rather than "out of memory".
func TestExistingDatabaseOnReadOnlyFileSystem(t *testing.T) {
	sqliteOnly(t, "a property of the SQLite file")
	if os.Geteuid() != 0 {
		t.Skip("needs root to remount a tmpfs read-only")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=4m"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	path := filepath.Join(dir, "opsui.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close() // the last connection removes -wal and -shm
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), path)
	if err == nil {
		_, err = s.LoadFleet(context.Background())
		s.Close()
	}
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
	t.Log(err)
}

// readOnlyDir returns a directory this process cannot write to. Root ignores
// permission bits, so as root it is a read-only tmpfs mount.
func readOnlyDir(t *testing.T) string {
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		if err := os.Chmod(dir, 0o500); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(dir, 0o700) })
		return dir
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_RDONLY, "size=1m"); err != nil {
		t.Skipf("cannot mount a read-only tmpfs as root here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}

func TestDiskFull(t *testing.T) {
	sqliteOnly(t, "a property of the SQLite file")
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tiny tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("cannot mount tmpfs: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(dir, "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, hosts, err := s.StartRun(ctx, NewRun{Kind: KindExec, Operator: "t", Hosts: []string{"web1"}})
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 8<<10) // small enough that some fit before the disk fills
	for i := range 256 {
		err = s.AppendOutput(ctx, hosts[0].ID, []Chunk{{Seq: int64(i), Stream: "stdout", Data: big}})
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("after filling the disk err = %v, want ErrFull", err)
	}
	// What was committed before the disk filled is still readable.
	cs, err := s.Output(ctx, hosts[0].ID)
	if err != nil || len(cs) == 0 {
		t.Fatalf("output after disk full: %d chunks, %v", len(cs), err)
	}
}

// TestLoosePermissionsAreWarnedAndKept: an existing database readable by
// others, in a directory others can write, is used as it is with a
// warning each, but the WAL and shared-memory files opsui's SQLite makes
// for it are private; a private database gets no warning.
func TestLoosePermissionsAreWarnedAndKept(t *testing.T) {
	sqliteOnly(t, "a property of the SQLite file")
	dir := filepath.Join(t.TempDir(), "shared")
	path := filepath.Join(dir, "opsui.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("a database opsui created has warnings: %q", w)
	}
	s.Close()
	os.Chmod(dir, 0o777)
	os.Chmod(path, 0o644)
	if s, err = Open(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := strings.Join(s.Warnings(), "\n")
	for _, want := range []string{"directory " + dir + " is writable by group or others (mode 0777)", "database " + path + " can be read or written by group or others (mode 0644)", "chmod 600 " + path} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings lack %q:\n%s", want, w)
		}
	}
	for p, want := range map[string]os.FileMode{dir: 0o777, path: 0o644, path + "-wal": 0o600, path + "-shm": 0o600} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != want {
			t.Errorf("%s: %v, want mode %04o", p, err, want)
		}
	}
}
