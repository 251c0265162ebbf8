package deploy

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/webtest"
	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/store"
)

// staticStorage is a ManifestStaticFilesStorage that tells on itself: each
// collectstatic appends "start HOST" and "done HOST" to the marker file
// (shared by every test host) and writes the host that built the tree
// into it, as built-on.txt.
const staticStorage = `import os
import time
from django.conf import settings
from django.contrib.staticfiles.storage import ManifestStaticFilesStorage


def _mark(word):
    with open(settings.OPSUI_TEST_MARKER, "a") as f:
        f.write("%s %s\n" % (word, os.environ.get("HOST", "?")))


class MarkedStorage(ManifestStaticFilesStorage):
    def post_process(self, *args, **kwargs):
        _mark("start")
        claim = getattr(settings, "OPSUI_TEST_CLAIM", None)
        if claim:
            # The first to get here names itself and lingers, for the
            # test to take its host down mid-build.
            try:
                fd = os.open(claim, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            except FileExistsError:
                pass
            else:
                os.write(fd, os.environ.get("HOST", "?").encode())
                os.close(fd)
                time.sleep(60)
        yield from super().post_process(*args, **kwargs)
        with open(os.path.join(self.location, "built-on.txt"), "w") as f:
            f.write(os.environ.get("HOST", "?") + "\n")
        if getattr(settings, "OPSUI_TEST_DANGLING", False):
            os.symlink("/nonexistent/opsui-test", os.path.join(self.location, "dangling.css"))
        _mark("done")
`

// staticProject adds to the testbed's Django project a commit with static
// files of its own (a stylesheet whose url() the manifest storage
// rewrites) and the marking storage, and returns the commit and the
// marker file.
func staticProject(t testing.TB, proj *webtest.DjangoProject) (commit, marker string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	marker = filepath.Join(dir, "collectstatic.log")
	// On a branch from the last commit that serves: main breaks the health check.
	projectGit(t, proj, "checkout", "-q", "-b", "static", proj.Hashes[webtest.DjangoAddTag])
	settings, err := os.ReadFile(filepath.Join(proj.Dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	settings = fmt.Appendf(settings, "\nSTATICFILES_DIRS = [BASE_DIR / \"assets\"]\nSTATICFILES_STORAGE = \"notes.storage.MarkedStorage\"\nOPSUI_TEST_MARKER = %q\n", marker)
	files := map[string]string{
		"mysite/settings.py":  string(settings),
		"notes/storage.py":    staticStorage,
		"assets/site.css":     "body { background: url(\"img/dot.svg\"); }\n",
		"assets/img/dot.svg":  "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n",
		"assets/js/notes.js":  "console.log('notes');\n",
		"assets/js/other.js":  "console.log('other');\n",
		"assets/css/more.css": "@import url(\"../site.css\");\n",
	}
	return projectCommit(t, proj, "static files", files), marker
}

// projectCommit writes files into the project and commits them.
func projectCommit(t testing.TB, proj *webtest.DjangoProject, msg string, files map[string]string) string {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(proj.Dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	projectGit(t, proj, "add", "-A")
	projectGit(t, proj, "commit", "-q", "-m", msg)
	return projectGit(t, proj, "rev-parse", "HEAD")
}

// projectGit runs git in the project, away from the user's configuration.
func projectGit(t testing.TB, proj *webtest.DjangoProject, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", proj.Dir, "-c", "user.name=Dev", "-c", "user.email=dev@notes.invalid"}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// markerLines returns the marker file's lines that start with word.
func markerLines(t *testing.T, marker, word string) []string {
	t.Helper()
	b, err := os.ReadFile(marker)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var hosts []string
	for l := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if h, ok := strings.CutPrefix(l, word+" "); ok {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// staticTreeOn is what host i serves as static files: every file of the
// current release's STATIC_ROOT with its sha256, sorted.
func (tb *testbed) staticTreeOn(i int) string {
	return tb.sh(i, "cd "+tb.deployTo+"/current/staticfiles && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum")
}

// TestStaticBuiltOnceAndShipped: with the default static: once, a deploy
// to three hosts runs collectstatic once; every host serves byte for byte
// the same tree with the same manifest; the dry run and the run say where
// static was built. A commit whose collectstatic fails then fails the
// deploy on every host before any switch, with the app's reason, and
// collectstatic was tried once.
func TestStaticBuiltOnceAndShipped(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 3)
	commit, marker := staticProject(t, proj)

	var dry bytes.Buffer
	tb.plan(commit, Strategy{}).Describe(&dry)
	if !strings.Contains(dry.String(), "static: once: collectstatic runs on one host, the first of "+tb.fleet.Hosts[0].Name) {
		t.Errorf("the dry run does not say where static is built:\n%s", dry.String())
	}

	out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy: %s", out.Result)
	}
	built := markerLines(t, marker, "done")
	if len(built) != 1 || len(markerLines(t, marker, "start")) != 1 {
		t.Fatalf("collectstatic ran %d times (%v), want once for 3 hosts", len(markerLines(t, marker, "start")), built)
	}
	var note string
	for _, n := range out.Notes {
		if strings.HasPrefix(n, "static files built once, on "+built[0]+" (") {
			note = n
		}
	}
	if note == "" {
		t.Errorf("the run's notes do not say static was built on %s: %q", built[0], out.Notes)
	}
	want := tb.staticTreeOn(0)
	if !strings.Contains(want, "./staticfiles.json") || !strings.Contains(want, "./built-on.txt") || strings.Count(want, "./site.") < 2 {
		t.Fatalf("host 0 serves no manifest-hashed tree:\n%s", want)
	}
	for i, h := range tb.fleet.Hosts {
		if got := tb.staticTreeOn(i); got != want {
			t.Errorf("%s serves other static files than %s:\n%s\nwant\n%s", h.Name, tb.fleet.Hosts[0].Name, got, want)
		}
		if on := tb.sh(i, "cat "+tb.deployTo+"/current/staticfiles/built-on.txt"); on != built[0] {
			t.Errorf("%s serves static files built on %s, want %s", h.Name, on, built[0])
		}
		if h.Name != built[0] && !strings.Contains(tb.hostOutput(h.Name), "static files built on "+built[0]+" unpacked into ") {
			t.Errorf("%s's output does not say it unpacked the tree built on %s", h.Name, built[0])
		}
	}

	// A stylesheet naming a file that is not there: the manifest storage
	// refuses it, on the one host that builds.
	broken := projectCommit(t, proj, "broken stylesheet", map[string]string{"assets/broken.css": "p { background: url(\"nowhere.png\"); }\n"})
	tb.mu.Lock()
	tb.events = nil
	tb.mu.Unlock()
	bad := tb.deploy(broken, Strategy{Kind: "all", AutoRollback: true})
	if bad.Result != store.ReleaseFailed {
		tb.logf(bad)
		t.Fatalf("deploy of a commit whose collectstatic fails: %s, want failed", bad.Result)
	}
	if n := len(markerLines(t, marker, "start")); n != 2 {
		t.Errorf("collectstatic was tried %d times in all, want 2 (once per deploy)", n-1)
	}
	var builder string
	for _, h := range bad.Hosts {
		if h.Status != HostFailed || h.Step != "collectstatic" {
			t.Errorf("%s: %s at %q, want failed at collectstatic", h.Host, h.Status, h.Step)
			continue
		}
		if strings.Contains(h.Err.Error(), "nowhere.png") && !strings.Contains(h.Err.Error(), "failed on") {
			builder = h.Host
		}
	}
	if builder == "" {
		tb.logf(bad)
		t.Fatalf("no host's error names the missing file")
	}
	for i, h := range bad.Hosts {
		if (h.Host != builder && !strings.Contains(h.Err.Error(), "collectstatic: collectstatic failed on "+builder+", where the static files are built once for every host: ")) ||
			!strings.Contains(h.Err.Error(), "nowhere.png") {
			t.Errorf("%s: %v, want the builder's failure", h.Host, h.Err)
		}
		if rel, _ := tb.current(i); rel != out.ReleaseID {
			t.Errorf("%s: current is %s after the failed deploy, want %s (nothing switched)", tb.fleet.Hosts[i].Name, rel, out.ReleaseID)
		}
	}
}

// TestStaticPerHostRunsOnEachHost: static: per_host keeps collectstatic
// on every web host, each building its own tree.
func TestStaticPerHostRunsOnEachHost(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	commit, marker := staticProject(t, proj)
	tb.app.Static = inventory.StaticPerHost
	tb.inv.Apps[0] = tb.app

	var dry bytes.Buffer
	tb.plan(commit, Strategy{}).Describe(&dry)
	if !strings.Contains(dry.String(), "static: per_host: collectstatic runs on each of the 2 web hosts") {
		t.Errorf("the dry run does not say collectstatic runs per host:\n%s", dry.String())
	}
	out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy: %s", out.Result)
	}
	built := markerLines(t, marker, "done")
	if len(built) != 2 || built[0] == built[1] {
		t.Fatalf("collectstatic ran on %v, want each of the 2 hosts", built)
	}
	for i, h := range tb.fleet.Hosts {
		if on := tb.sh(i, "cat "+tb.deployTo+"/current/staticfiles/built-on.txt"); on != h.Name {
			t.Errorf("%s serves static files built on %s, want its own", h.Name, on)
		}
	}
}

// hostOutput is every output line host emitted, one a line.
func (tb *testbed) hostOutput(host string) string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	var b strings.Builder
	for _, ev := range tb.events {
		if ev.Host == host && ev.Line != "" {
			b.WriteString(ev.Line + "\n")
		}
	}
	return b.String()
}
