package deploy

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
)

// BuildInfo describes a built artifact in the operator's build cache.
type BuildInfo struct {
	Key     string    `json:"key"`
	App     string    `json:"app"`
	Commit  string    `json:"commit"`
	BuiltAt time.Time `json:"built_at"`
	Took    Seconds   `json:"took"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	// Wheels says the artifact has a wheels/ directory.
	Wheels bool `json:"wheels,omitempty"`
	// Path is the artifact's file; Log the build's output.
	Path string `json:"-"`
	Log  string `json:"-"`
}

// Seconds is a duration kept as seconds in the cache's JSON.
type Seconds float64

// Duration is s as a time.Duration, rounded to the tenth of a second.
func (s Seconds) Duration() time.Duration {
	return time.Duration(float64(s) * float64(time.Second)).Round(100 * time.Millisecond)
}

// ShortKey abbreviates a build key for people to read.
func ShortKey(key string) string { return ShortCommit(key) }

// BuildKey is the cache key of app's build of commit: a hash of the commit,
// the commands, the env and the names of its secrets: a change to any of
// them builds anew. The
// timeout is not part of it (it does not change what is built), nor is the
// environment deployed to: the artifact built once ships everywhere.
func BuildKey(app inventory.App, commit string) string {
	h := sha256.New()
	fmt.Fprintf(h, "opsui build v1\x00%s\x00%d\x00", commit, len(app.Build.Run))
	for _, c := range app.Build.Run {
		fmt.Fprintf(h, "%d\x00%s\x00", len(c), c)
	}
	for _, k := range slices.Sorted(maps.Keys(app.Build.Env)) {
		fmt.Fprintf(h, "%s=%d\x00%s\x00", k, len(app.Build.Env[k]), app.Build.Env[k])
	}
	// A secret by its name only: a rotated token builds the same thing,
	// and the key, kept in a file name, says nothing of its value.
	for _, k := range slices.Sorted(maps.Keys(app.Build.Secrets)) {
		fmt.Fprintf(h, "secret %s=%s\x00", k, app.Build.Secrets[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BuildCacheDir is where built artifacts are kept: dir when given, else
// opsui/builds under the operator's cache directory (XDG_CACHE_HOME or
// ~/.cache on Linux).
func BuildCacheDir(dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("build cache: %w", err)
	}
	return filepath.Join(base, "opsui", "builds"), nil
}

// buildCacheKeep is how many artifacts of an app the cache keeps: the
// ones used last (a use touches its file).
const buildCacheKeep = 10

// abandonedBuild is how old a build's file in the making is when pruning
// takes it for one whose opsui died (no build runs this long: 2h at most).
const abandonedBuild = 24 * time.Hour

// buildPaths are the files of key's build of app under the cache root.
func buildPaths(root, app, key string) (artifact, meta, log string) {
	base := filepath.Join(root, app, key)
	return base + ".tar.gz", base + ".json", base + ".log"
}

// LookupBuild returns the cached build of app's commit under root (see
// BuildCacheDir), if there is one whose artifact is whole (its size as
// recorded; the deploy checks its hash before using it).
func LookupBuild(root string, app inventory.App, commit string) (BuildInfo, bool) {
	if app.Build == nil {
		return BuildInfo{}, false
	}
	key := BuildKey(app, commit)
	artifact, meta, log := buildPaths(root, app.Name, key)
	b, err := os.ReadFile(meta)
	if err != nil {
		return BuildInfo{}, false
	}
	var info BuildInfo
	if json.Unmarshal(b, &info) != nil || info.Key != key || info.Commit != commit {
		return BuildInfo{}, false
	}
	if fi, err := os.Stat(artifact); err != nil || fi.Size() != info.Size {
		return BuildInfo{}, false
	}
	info.Path, info.Log = artifact, log
	return info, true
}

// checkSum reports whether the file at path has the sha256 want.
func checkSum(path, want string) error {
	got, _, err := fileSum(path)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%s: sha256 %s, recorded %s", path, ShortKey(got), ShortKey(want))
	}
	return nil
}

func fileSum(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// storeBuild moves a built artifact into the cache (a rename within the
// cache's directory: readers never see half a file) and records it.
func storeBuild(root string, info BuildInfo, built string) (BuildInfo, error) {
	artifact, meta, log := buildPaths(root, info.App, info.Key)
	sum, size, err := fileSum(built)
	if err != nil {
		return info, err
	}
	info.SHA256, info.Size = sum, size
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return info, err
	}
	if err := os.Rename(built, artifact); err != nil {
		return info, err
	}
	if err := writeFileAtomic(meta, append(b, '\n')); err != nil {
		return info, err
	}
	info.Path, info.Log = artifact, log
	return info, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// pruneBuilds keeps the buildCacheKeep artifacts of app used last.
func pruneBuilds(root, app string) error {
	dir := filepath.Join(root, app)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type built struct {
		key  string
		used time.Time
	}
	var bs []built
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			// A build's files in the making: left by one that died, once old.
			if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > abandonedBuild {
				_ = os.Remove(filepath.Join(dir, e.Name()))
			}
			continue
		}
		key, ok := strings.CutSuffix(e.Name(), ".tar.gz")
		if !ok {
			continue
		}
		if fi, err := e.Info(); err == nil {
			bs = append(bs, built{key, fi.ModTime()})
		}
	}
	slices.SortFunc(bs, func(a, b built) int { return b.used.Compare(a.used) })
	var errs []error
	for _, b := range bs[min(len(bs), buildCacheKeep):] {
		artifact, meta, log := buildPaths(root, app, b.key)
		for _, p := range []string{meta, artifact, log} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// packTree writes the tree at dir as a gzipped tar to out, the artifact's
// format: directories, files (their mode kept) and symbolic links, owned
// by no one in particular; anything else (a socket, a device) is refused
// rather than shipped half.
func packTree(dir, out string) error {
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed) // wheels are compressed already
	tw := tar.NewWriter(zw)
	werr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		switch m := fi.Mode(); {
		case m.IsDir(), m.IsRegular():
		case m&fs.ModeSymlink != 0:
			if link, err = os.Readlink(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("the build left %s, a %s: only files, directories and symbolic links ship", rel, modeName(m))
		}
		h, err := tar.FileInfoHeader(fi, link)
		if err != nil {
			return err
		}
		h.Name = filepath.ToSlash(rel)
		if fi.IsDir() {
			h.Name += "/"
		}
		h.Uid, h.Gid, h.Uname, h.Gname = 0, 0, "", ""
		h.AccessTime, h.ChangeTime = time.Time{}, time.Time{}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		src, err := os.Open(path)
		if err != nil {
			return err
		}
		defer src.Close()
		_, err = io.Copy(tw, src)
		return err
	})
	err = errors.Join(werr, tw.Close(), zw.Close(), f.Close())
	if err != nil {
		os.Remove(out)
	}
	return err
}

func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
