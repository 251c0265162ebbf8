package deploy

import (
	"archive/tar"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
)

// An app's build: runs on the operator's machine, in a fresh directory
// holding the commit's tree, before the deploy takes its lock; the tree it
// leaves is packed into the artifact every host receives. Artifacts are
// cached per commit and build definition (build_cache.go), so a redeploy
// of a commit ships the bytes that were built for it the first time.

// BuildRun is one build to run.
type BuildRun struct {
	App     inventory.App // its Repo and Build
	Commit  string
	Release string // the planned release id (RELEASE_ID)
	Env     string // the environment deployed to (ENV)
	// Secrets are the values of the build's secrets: by variable; each
	// is masked in the output (‹secret NAME›).
	Secrets map[string]string
	// Line receives each line of the build's output as it comes; it must
	// not block for long (the build waits for it).
	Line func(string)
}

// BuildError is a build that did not succeed: the command that failed,
// how it ended, and its last lines of output.
type BuildError struct {
	Step, Steps int    // the failed command's number, of how many
	Command     string // as the fleet file has it
	Code        int    // its exit status; -1 when it was killed
	TimedOut    bool
	Timeout     time.Duration
	Cancelled   bool
	Last        []string // the build's last lines of output
	Log         string   // where its whole output is kept ("": nowhere)
	Err         error    // a failure to run it at all
}

func (e *BuildError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "build failed: command %d of %d (%s) ", e.Step, e.Steps, clipCommand(e.Command))
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, "hit the build's timeout of %s and was killed", e.Timeout)
	case e.Cancelled:
		b.WriteString("was cancelled")
	case e.Err != nil:
		fmt.Fprintf(&b, "could not run: %v", e.Err)
	default:
		fmt.Fprintf(&b, "exited with status %d", e.Code)
	}
	if e.Log != "" {
		b.WriteString("; its output is in " + e.Log)
	}
	if len(e.Last) > 0 {
		b.WriteString("; its last lines:")
		for _, l := range e.Last {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// clipCommand shortens a command for a message: its first line, at most
// 80 characters.
func clipCommand(c string) string {
	c, _, more := strings.Cut(strings.TrimSpace(c), "\n")
	if len(c) > 80 {
		c, more = c[:77], true
	}
	if more {
		c += "…"
	}
	return c
}

// buildLastLines is how many lines of a failed build its error repeats.
const buildLastLines = 10

// buildKillGrace is how long a cancelled build's process group has after
// SIGTERM before SIGKILL, and its pipes after that.
const buildKillGrace = 5 * time.Second

// runBuild unpacks the commit's tree into a fresh directory under work,
// runs the build's commands there one after the other (stopping at the
// first that fails, or at the timeout), and packs what they leave into
// out, a gzipped tar. Its output goes to log and, line by line, to
// b.Line; wheels is set when the tree has a wheels/ directory (the django
// preset installs requirements.txt from it).
func runBuild(ctx context.Context, b BuildRun, work, out string, log io.Writer, wheels *bool) error {
	spec := b.App.Build
	tree := filepath.Join(work, "tree")
	if err := os.Mkdir(tree, 0o755); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	if err := unpackCommit(ctx, b.App.Repo, b.Commit, tree); err != nil {
		return fmt.Errorf("build: %w", err)
	}
	timeout := spec.TimeoutOrDefault()
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	lines := &lineSink{log: log, line: b.Line, mask: secretMask(b)}
	for i, c := range spec.Run {
		lines.say(fmt.Sprintf("$ %s", clipCommand(c)))
		code, err := runBuildCommand(bctx, tree, c, buildEnv(b), lines)
		if err == nil && code == 0 {
			continue
		}
		lines.flush()
		be := &BuildError{Step: i + 1, Steps: len(spec.Run), Command: c, Code: code, Last: lines.last(), Timeout: timeout}
		switch {
		case ctx.Err() != nil:
			be.Cancelled = true
		case bctx.Err() != nil:
			be.TimedOut = true
		case err != nil:
			be.Err = err
		}
		return be
	}
	lines.flush()
	if err := packTree(tree, out); err != nil {
		return fmt.Errorf("build: pack the built tree: %w", err)
	}
	if fi, err := os.Stat(filepath.Join(tree, "wheels")); err == nil && fi.IsDir() && wheels != nil {
		*wheels = true
	}
	return nil
}

// buildEnv is the environment of the build's commands: the operator's own
// (PATH, HOME, proxies: the build runs as them), the build's env: and the
// variables opsui sets, which win.
func buildEnv(b BuildRun) []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(b.App.Build.Env)) {
		env = append(env, k+"="+b.App.Build.Env[k])
	}
	for _, k := range slices.Sorted(maps.Keys(b.Secrets)) {
		env = append(env, k+"="+b.Secrets[k])
	}
	return append(env, "APP="+b.App.Name, "COMMIT="+b.Commit, "ENV="+b.Env, "RELEASE_ID="+b.Release)
}

// minMasked is the shortest secret value masked in a build's output: a
// shorter one would blank out ordinary text.
const minMasked = 4

// secretMask replaces the values of b's secrets in a line of output with
// their names, the longest first (one value may hold another).
func secretMask(b BuildRun) *strings.Replacer {
	var pairs []string
	vars := slices.Collect(maps.Keys(b.Secrets))
	slices.SortFunc(vars, func(x, y string) int { return len(b.Secrets[y]) - len(b.Secrets[x]) })
	for _, k := range vars {
		if v := b.Secrets[k]; len(v) >= minMasked {
			pairs = append(pairs, v, inventory.SecretLabel(b.App.Build.Secrets[k]))
		}
	}
	if len(pairs) == 0 {
		return nil
	}
	return strings.NewReplacer(pairs...)
}

// runBuildCommand runs one command with sh in dir, in a process group of
// its own: a timeout or a cancel kills the whole group (a make's or pip's
// children too), and a child left holding the output open cannot keep
// the build waiting.
func runBuildCommand(ctx context.Context, dir, command string, env []string, out io.Writer) (int, error) {
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = nil // /dev/null: a build never waits for the operator
	cmd.Stdout, cmd.Stderr = out, out
	ownProcessGroup(cmd)
	cmd.WaitDelay = 2 * buildKillGrace
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}

// lineSink splits a build's output into lines, its secrets masked: each
// line to log and to line, the last few kept for the error.
type lineSink struct {
	mu   sync.Mutex
	log  io.Writer
	line func(string)
	mask *strings.Replacer // nil: no secret
	part []byte
	tail []string
}

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.part = append(s.part, p...)
	for {
		i := slices.Index(s.part, '\n')
		if i < 0 {
			break
		}
		s.emit(string(s.part[:i]))
		s.part = s.part[i+1:]
	}
	if len(s.part) > 4096 { // a line without end (a progress bar) is cut
		s.emit(string(s.part))
		s.part = nil
	}
	return len(p), nil
}

// say adds a line of opsui's own (the command about to run).
func (s *lineSink) say(l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emit(l)
}

func (s *lineSink) emit(l string) {
	l = strings.TrimRight(l, "\r")
	if i := strings.LastIndexByte(l, '\r'); i >= 0 {
		l = l[i+1:] // what a terminal would show of a redrawn line
	}
	if s.mask != nil {
		l = s.mask.Replace(l)
	}
	if s.log != nil {
		_, _ = io.WriteString(s.log, l+"\n")
	}
	s.tail = append(s.tail, l)
	if len(s.tail) > buildLastLines {
		s.tail = s.tail[len(s.tail)-buildLastLines:]
	}
	if s.line != nil {
		s.line(l)
	}
}

func (s *lineSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.part) > 0 {
		s.emit(string(s.part))
		s.part = nil
	}
}

func (s *lineSink) last() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tail)
}

// unpackCommit writes the tree of commit (git archive) into dir.
func unpackCommit(ctx context.Context, repo, commit, dir string) error {
	cmd := exec.CommandContext(ctx, "git", "-C", repo, "archive", "--format=tar", commit)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	var errb strings.Builder
	cmd.Stderr = &errb
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive: %w", err)
	}
	uerr := untar(bufio.NewReaderSize(stdout, 1<<16), dir)
	if uerr != nil {
		_, _ = io.Copy(io.Discard, stdout)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %v %s", ShortCommit(commit), err, strings.TrimSpace(errb.String()))
	}
	if uerr != nil {
		return fmt.Errorf("unpack %s: %w", ShortCommit(commit), uerr)
	}
	return nil
}

// untar extracts a tar stream of git archive (directories, files, symbolic
// links) into dir; an entry that would land outside it is refused.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			if name == "." {
				continue
			}
			return fmt.Errorf("entry %q is outside the tree", h.Name)
		}
		path := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_EXCL, os.FileMode(h.Mode)&0o777)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.Symlink(h.Linkname, path); err != nil {
				return err
			}
		case tar.TypeXGlobalHeader:
			// git's commit id comment
		default:
			return fmt.Errorf("entry %q: unexpected type %q", h.Name, h.Typeflag)
		}
	}
}
