package webtest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Runner runs a shell command on a host and returns its standard output;
// an ssh session's Output, an ops engine call or exec.Command("sh", "-c")
// all fit.
type Runner func(cmd string) (string, error)

// ReleaseState is what a host's deploy tree says about its releases.
type ReleaseState struct {
	Current  string   // target of the current symlink as stored ("releases/<id>")
	IsLink   bool     // current is a symlink
	Resolves bool     // current leads to an existing directory
	Revision string   // current/REVISION, trimmed
	Releases []string // the entries of releases/, sorted
}

// ReleaseID returns the basename of the current symlink's target.
func (s ReleaseState) ReleaseID() string {
	return s.Current[strings.LastIndexByte(s.Current, '/')+1:]
}

// ReadRelease reads the state of the deploy tree at deployTo with one
// command.
func ReadRelease(run Runner, deployTo string) (ReleaseState, error) {
	out, err := run(`cd ` + shellQuote(deployTo) + ` || exit 1
if [ -L current ]; then echo link; fi
if [ -d current/ ]; then echo resolves; fi
printf 'current %s\n' "$(readlink current)"
printf 'revision %s\n' "$(cat current/REVISION 2>/dev/null)"
for r in releases/*; do [ -e "$r" ] && printf 'release %s\n' "${r#releases/}"; done; true`)
	if err != nil {
		return ReleaseState{}, fmt.Errorf("reading %s: %w: %s", deployTo, err, out)
	}
	var s ReleaseState
	for line := range strings.Lines(out) {
		line = strings.TrimRight(line, "\n")
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "link":
			s.IsLink = true
		case "resolves":
			s.Resolves = true
		case "current":
			s.Current = v
		case "revision":
			s.Revision = strings.TrimSpace(v)
		case "release":
			s.Releases = append(s.Releases, v)
		}
	}
	slices.Sort(s.Releases)
	return s, nil
}

// CheckRelease fails the test unless deployTo/current is a symlink to
// releases/<releaseID> (relative, or absolute under deployTo), which exists
// and whose REVISION holds commit.
func CheckRelease(t testing.TB, run Runner, deployTo, releaseID, commit string) ReleaseState {
	t.Helper()
	s, err := ReadRelease(run, deployTo)
	if err != nil {
		t.Fatalf("webtest: %v", err)
	}
	if err := s.Check(deployTo, releaseID, commit); err != nil {
		t.Errorf("webtest: %v", err)
	}
	return s
}

// Check returns an error unless the state shows release releaseID with
// commit as current.
func (s ReleaseState) Check(deployTo, releaseID, commit string) error {
	want := "releases/" + releaseID
	switch {
	case !s.IsLink:
		return fmt.Errorf("%s/current is not a symlink (state %+v)", deployTo, s)
	case s.Current != want && s.Current != strings.TrimRight(deployTo, "/")+"/"+want:
		return fmt.Errorf("%s/current -> %q, want %q", deployTo, s.Current, want)
	case !s.Resolves || !slices.Contains(s.Releases, releaseID):
		return fmt.Errorf("%s/current -> %q does not exist (releases %v)", deployTo, s.Current, s.Releases)
	case s.Revision != commit:
		return fmt.Errorf("%s/current/REVISION = %q, want %q", deployTo, s.Revision, commit)
	}
	return nil
}

// ReleasesInUse returns the releases (ids under deployTo/releases) that
// running processes on the host use as their working directory: a gunicorn
// master and its workers keep the release directory they changed into, even
// after current moved on, until they are reloaded. Cleanup must not delete
// them. It needs /proc (Linux) and the right to read other processes' cwd
// (the same user, or root).
func ReleasesInUse(run Runner, deployTo string) ([]string, error) {
	out, err := run(InUseScript(deployTo))
	if err != nil {
		return nil, fmt.Errorf("listing releases in use under %s: %w: %s", deployTo, err, out)
	}
	var ids []string
	for line := range strings.Lines(out) {
		if id := strings.TrimSpace(line); id != "" && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids, nil
}

// InUseScript returns the shell script of [ReleasesInUse]: it prints the
// release ids that some process's /proc/PID/cwd points into, one a line.
// The kernel stores a cwd resolved, so a process started in the current
// symlink shows the release it resolved to; a deleted one ends in
// " (deleted)".
func InUseScript(deployTo string) string {
	return `base=$(cd ` + shellQuote(deployTo) + ` && pwd -P)/releases/ || exit 1
for p in /proc/[0-9]*; do
	d=$(readlink "$p/cwd" 2>/dev/null) || continue
	case "$d" in "$base"*) d=${d#"$base"}; d=${d%% (deleted)}; echo "${d%%/*}" ;; esac
done | sort -u`
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
