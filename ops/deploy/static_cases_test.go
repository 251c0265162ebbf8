package deploy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/store"
)

// TestStaticRootInSharedOrOutside: a STATIC_ROOT that shared/ holds (the
// release's staticfiles/ a shared entry) is built once and unpacked into
// each host's shared/; one outside deploy_to, where opsui does not write,
// makes every web host run collectstatic itself, and the run says why.
func TestStaticRootInSharedOrOutside(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	commit, marker := staticProject(t, proj)
	tb.app.Shared = []string{"logs/", "staticfiles/"}
	tb.inv.Apps[0] = tb.app

	out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy with a shared STATIC_ROOT: %s", out.Result)
	}
	built := markerLines(t, marker, "done")
	if len(built) != 1 {
		t.Fatalf("collectstatic ran on %v, want once", built)
	}
	want := tb.sh(0, "cd "+tb.deployTo+"/shared/staticfiles && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum")
	for i, h := range tb.fleet.Hosts {
		if got := tb.sh(i, "cd "+tb.deployTo+"/shared/staticfiles && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum"); got != want || !strings.Contains(got, "./staticfiles.json") {
			t.Errorf("%s's shared/staticfiles:\n%s\nwant\n%s", h.Name, got, want)
		}
		if on := tb.sh(i, "cat "+tb.deployTo+"/current/staticfiles/built-on.txt"); on != built[0] {
			t.Errorf("%s serves static files built on %s, want %s", h.Name, on, built[0])
		}
	}

	outside := filepath.Dir(marker)
	settings, err := os.ReadFile(filepath.Join(proj.Dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	settings = fmt.Appendf(settings, "STATIC_ROOT = os.path.join(%q, \"static-\" + os.environ.get(\"HOST\", \"x\"))\n", outside)
	moved := projectCommit(t, proj, "static root outside deploy_to", map[string]string{"mysite/settings.py": string(settings)})
	out = tb.deploy(moved, Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseSuccess {
		tb.logf(out)
		t.Fatalf("deploy with STATIC_ROOT outside deploy_to: %s", out.Result)
	}
	if built := markerLines(t, marker, "done"); len(built) != 3 || built[1] == built[2] {
		t.Errorf("collectstatic ran on %v in all, want once then on each host", built)
	}
	if !slices.ContainsFunc(out.Notes, func(n string) bool {
		return strings.Contains(n, "STATIC_ROOT "+outside+"/static-") && strings.Contains(n, "collectstatic runs on each web host")
	}) {
		t.Errorf("the run does not say why collectstatic ran on each host: %q", out.Notes)
	}
	for _, h := range tb.fleet.Hosts {
		if b, err := os.ReadFile(filepath.Join(outside, "static-"+h.Name, "built-on.txt")); err != nil || string(b) != h.Name+"\n" {
			t.Errorf("%s's own STATIC_ROOT: %q, %v", h.Name, b, err)
		}
	}
}

// TestStaticBuilderLostAnotherBuilds: the host building the static files
// goes down mid-build; it fails alone, the next host to reach its
// collectstatic builds instead, and every other host serves that tree.
// When the builder is also the migration host and its migration had not
// finished, nothing is switched instead.
func TestStaticBuilderLostAnotherBuilds(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 3)
	_, marker := staticProject(t, proj)
	claim := filepath.Join(filepath.Dir(marker), "claim")
	settings, err := os.ReadFile(filepath.Join(proj.Dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	settings = fmt.Appendf(settings, "OPSUI_TEST_CLAIM = %q\n", claim)
	commit := projectCommit(t, proj, "linger in the first collectstatic", map[string]string{"mysite/settings.py": string(settings)})

	done := make(chan *Outcome, 1)
	go func() {
		out, err := tb.deployer().Deploy(context.Background(), tb.plan(commit, Strategy{Kind: "all", MaxFail: Count{N: 1}, AutoRollback: true}))
		if err != nil {
			t.Errorf("deploy: %v", err)
		}
		done <- out
	}()
	var lost string
	testenv.WaitFor(t, 2*time.Minute, "a host building the static files", func() bool {
		b, _ := os.ReadFile(claim)
		lost = string(b)
		return lost != ""
	})
	tb.fleet.Host(lost).Kill()
	out := <-done
	tb.fleet.Host(lost).Restart(t) // for the cleanup, which stops every host's gunicorn
	if out == nil {
		t.FailNow()
	}
	// web1 migrates alongside its collectstatic: when it is the builder
	// lost before its migration finished, the schema is unknown and no
	// host may be switched (TestFailedMigrationSwitchesNoHostWhateverMaxFail).
	if slices.ContainsFunc(out.Notes, func(n string) bool { return strings.Contains(n, "migrate did not finish on "+lost) }) {
		if out.Result != store.ReleaseFailed {
			t.Errorf("the migration host %s was lost mid-migration, yet the deploy is %s", lost, out.Result)
		}
		for i, h := range tb.fleet.Hosts {
			if h.Name != lost && strings.HasSuffix(tb.sh(i, "readlink "+tb.deployTo+"/current || true"), out.ReleaseID) {
				t.Errorf("%s was switched though the migration did not finish", h.Name)
			}
		}
		return
	}
	built := markerLines(t, marker, "done")
	if len(built) != 1 || built[0] == lost || len(markerLines(t, marker, "start")) != 2 {
		t.Fatalf("collectstatic started %d times and finished on %v; want twice, finished once, not on %s", len(markerLines(t, marker, "start")), built, lost)
	}
	for i, h := range out.Hosts {
		if h.Host == lost {
			if h.Status != HostFailed || h.Step != "collectstatic" {
				t.Errorf("%s, taken down while it built: %s at %q", h.Host, h.Status, h.Step)
			}
			continue
		}
		if h.Status != HostOK {
			tb.logf(out)
			t.Errorf("%s: %s at %q: %v", h.Host, h.Status, h.Step, h.Err)
			continue
		}
		if on := tb.sh(i, "cat "+tb.deployTo+"/current/staticfiles/built-on.txt"); on != built[0] {
			t.Errorf("%s serves static files built on %s, want %s", h.Host, on, built[0])
		}
	}
}

// TestStaticTreeThatCannotBePacked: a STATIC_ROOT tar refuses (a link to
// nothing: links are archived as what they point to) fails the deploy
// before any switch on every host, saying so, and collectstatic is not
// run again on another host: it would fail alike.
func TestStaticTreeThatCannotBePacked(t *testing.T) {
	tb, proj := newDjangoTestbed(t, 2)
	_, marker := staticProject(t, proj)
	settings, err := os.ReadFile(filepath.Join(proj.Dir, "mysite", "settings.py"))
	if err != nil {
		t.Fatal(err)
	}
	commit := projectCommit(t, proj, "a dangling link in STATIC_ROOT", map[string]string{"mysite/settings.py": string(settings) + "OPSUI_TEST_DANGLING = True\n"})
	out := tb.deploy(commit, Strategy{Kind: "all", AutoRollback: true})
	if out.Result != store.ReleaseFailed {
		tb.logf(out)
		t.Fatalf("deploy: %s, want failed", out.Result)
	}
	if n := len(markerLines(t, marker, "start")); n != 1 {
		t.Errorf("collectstatic ran %d times, want once", n)
	}
	for i, h := range out.Hosts {
		t.Logf("%s: %s at %s: %v", h.Host, h.Status, h.Step, h.Err)
		if h.Status != HostFailed || h.Step != "collectstatic" || !strings.Contains(h.Err.Error(), "packing the static files built on ") ||
			!strings.Contains(h.Err.Error(), "dangling.css") {
			t.Errorf("%s: %s at %q: %v; want failed at collectstatic, packing dangling.css", h.Host, h.Status, h.Step, h.Err)
		}
		if out := tb.sh(i, "readlink "+tb.deployTo+"/current || echo none"); out != "none" {
			t.Errorf("%s: current is %s after the failed first deploy", h.Host, out)
		}
	}
}
