package deploy

import (
	"archive/tar"
	"compress/gzip"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/inventory"
)

// TestBuildKey: the key changes with the commit, a command or an env
// value, and not with the timeout or the order env: is written in.
func TestBuildKey(t *testing.T) {
	app := func(b inventory.Build) inventory.App { return inventory.App{Name: "shop", Build: &b} }
	base := BuildKey(app(inventory.Build{Run: []string{"make"}, Env: map[string]string{"A": "1", "B": "2"}}), "c1")
	same := []inventory.Build{
		{Run: []string{"make"}, Env: map[string]string{"B": "2", "A": "1"}},
		{Run: []string{"make"}, Env: map[string]string{"A": "1", "B": "2"}, Timeout: inventory.Duration(time.Hour)},
	}
	for _, b := range same {
		if BuildKey(app(b), "c1") != base {
			t.Errorf("%+v changed the key", b)
		}
	}
	differ := []inventory.Build{
		{Run: []string{"make", ""}, Env: map[string]string{"A": "1", "B": "2"}},
		{Run: []string{"make "}, Env: map[string]string{"A": "1", "B": "2"}},
		{Run: []string{"make"}, Env: map[string]string{"A": "1", "B": "3"}},
		{Run: []string{"make"}, Env: map[string]string{"A": "1"}},
		{Run: []string{"ma", "ke"}, Env: map[string]string{"A": "1", "B": "2"}},
	}
	for _, b := range differ {
		if BuildKey(app(b), "c1") == base {
			t.Errorf("%+v kept the key", b)
		}
	}
	if BuildKey(app(inventory.Build{Run: []string{"make"}, Env: map[string]string{"A": "1", "B": "2"}}), "c2") == base {
		t.Error("another commit kept the key")
	}
}

// TestPackTree: the artifact holds the tree's files with their modes,
// its directories and symbolic links, owned by no one in particular; a
// socket the build left is refused by name.
func TestPackTree(t *testing.T) {
	dir := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(dir, "wheels", "empty"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "wheels", "a.whl"), []byte("wheel"), 0o644))
	must(os.WriteFile(filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\n"), 0o755))
	must(os.Symlink("run.sh", filepath.Join(dir, "link")))
	out := filepath.Join(t.TempDir(), "a.tar.gz")
	must(packTree(dir, out))

	f, err := os.Open(out)
	must(err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	must(err)
	tr := tar.NewReader(zr)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(err)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
			t.Errorf("%s is owned by %d/%d %q/%q", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = string(h.Typeflag) + " " + os.FileMode(h.Mode).Perm().String() + " " + h.Linkname + string(b)
	}
	want := map[string]string{
		"wheels/":       "5 -rwxr-xr-x ",
		"wheels/empty/": "5 -rwxr-xr-x ",
		"wheels/a.whl":  "0 -rw-r--r-- wheel",
		"run.sh":        "0 -rwxr-xr-x #!/bin/sh\n",
		"link":          "2 -rwxrwxrwx run.sh",
	}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q", name, got[name], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("entries %q", got)
	}

	// Unpacked again, as the hosts do with tar, the tree is the same.
	back := t.TempDir()
	f2, _ := os.Open(out)
	defer f2.Close()
	z2, _ := gzip.NewReader(f2)
	must(untar(z2, back))
	if b, _ := os.ReadFile(filepath.Join(back, "link")); string(b) != "#!/bin/sh\n" {
		t.Errorf("the link reads %q", b)
	}
	if fi, err := os.Stat(filepath.Join(back, "run.sh")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("run.sh: %v %v", fi, err)
	}

	l, err := net.Listen("unix", filepath.Join(dir, "wheels", "sock"))
	must(err)
	defer l.Close()
	err = packTree(dir, filepath.Join(t.TempDir(), "b.tar.gz"))
	if err == nil || !strings.Contains(err.Error(), "the build left wheels/sock, a socket: only files, directories and symbolic links ship") {
		t.Errorf("a socket: %v", err)
	}
}

// TestUntarRefusesEntriesOutsideTheTree: an archive entry that climbs out
// of the build's directory is refused, not written.
func TestUntarRefusesEntriesOutsideTheTree(t *testing.T) {
	for _, name := range []string{"../evil", "/etc/evil", "a/../../evil"} {
		pr, pw := io.Pipe()
		go func() {
			tw := tar.NewWriter(pw)
			tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: 1, Typeflag: tar.TypeReg})
			tw.Write([]byte("x"))
			tw.Close()
			pw.Close()
		}()
		dir := t.TempDir()
		err := untar(pr, filepath.Join(dir, "tree"))
		pr.Close()
		if err == nil || !strings.Contains(err.Error(), "is outside the tree") {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
			t.Errorf("%s was written", name)
		}
	}
}

// TestBuildCacheKeepsTheLastUsed: pruning keeps buildCacheKeep artifacts
// of an app, the ones used last, with their records.
func TestBuildCacheKeepsTheLastUsed(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "shop")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	for i := range buildCacheKeep + 3 {
		a, m, _ := buildPaths(root, "shop", strings.Repeat(string(rune('a'+i)), 8))
		os.WriteFile(a, nil, 0o600)
		os.WriteFile(m, nil, 0o600)
		at := old.Add(time.Duration(i) * time.Minute)
		if i == 0 {
			at = time.Now() // used just now
		}
		os.Chtimes(a, at, at)
	}
	stale, fresh := filepath.Join(dir, ".k.1.2.building"), filepath.Join(dir, ".k.1.3.log")
	os.WriteFile(stale, nil, 0o600)
	os.WriteFile(fresh, nil, 0o600)
	os.Chtimes(stale, old.Add(-48*time.Hour), old.Add(-48*time.Hour))
	if err := pruneBuilds(root, "shop"); err != nil {
		t.Fatal(err)
	}
	for i, want := range map[int]bool{0: true, 1: false, 2: false, 3: false, 4: true, buildCacheKeep + 2: true} {
		a, m, _ := buildPaths(root, "shop", strings.Repeat(string(rune('a'+i)), 8))
		_, aerr := os.Stat(a)
		_, merr := os.Stat(m)
		if (aerr == nil) != want || (merr == nil) != want {
			t.Errorf("artifact %d kept=%v, want %v", i, aerr == nil, want)
		}
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a build abandoned two days ago was left")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Error("a build in the making was pruned")
	}
}

// TestPreviewReadsTheBuildCache: PreviewDeploy says (BuildPreview) whether
// the build will run or its artifact is cached in the operator's cache
// directory, so the wizard's view shows it without reading a file.
func TestPreviewReadsTheBuildCache(t *testing.T) {
	tb, _, _ := buildTestbed(t, 1)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	ctx := t.Context()
	preview := func() string {
		t.Helper()
		p, err := PreviewDeploy(ctx, tb.st, DeployRequest{Fleet: tb.inv, App: tb.app, Env: tb.env, Hosts: tb.hosts(), Ref: "main"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return p.BuildPreview
	}
	if got := preview(); !strings.HasPrefix(got, "build: will run 1 command on this machine") {
		t.Errorf("nothing cached: %q", got)
	}
	root, err := BuildCacheDir("")
	if err != nil {
		t.Fatal(err)
	}
	commit := tb.git("rev-parse", "HEAD")
	os.MkdirAll(filepath.Join(root, "app"), 0o700)
	built := filepath.Join(root, "app", ".built")
	os.WriteFile(built, []byte("artifact"), 0o600)
	if _, err := storeBuild(root, BuildInfo{Key: BuildKey(tb.app, commit), App: "app", Commit: commit, BuiltAt: time.Now()}, built); err != nil {
		t.Fatal(err)
	}
	if got := preview(); !strings.HasPrefix(got, "build: cached (") {
		t.Errorf("cached: %q", got)
	}
}
