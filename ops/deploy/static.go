package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// Static files are built once per deploy (the app's static: once, the
// default): the first web host through its build runs collectstatic, its
// STATIC_ROOT is packed and streamed back through opsui, and every other
// web host unpacks that same tree instead of starting Django. Every host
// then serves the same files and the same manifest (staticfiles.json of a
// ManifestStaticFilesStorage), whatever order its filesystem lists them in.
//
// Not on the operator's machine: the preset's virtualenv sees the host's
// system packages (Debian's Django) and the app's settings read the
// host's shared/.env, so a tree built elsewhere could hold another
// Django's admin files. One host of the fleet is the faithful builder.
//
// A host waits for the build only when it reaches its own collectstatic
// before the build is done; hosts without the web role never wait.

// staticOnceScript is the collectstatic step of static: once, on the
// host that builds: collectstatic in the same Python process that then
// says where STATIC_ROOT is, relative to the release or shared/ (real
// paths, as Django's BASE_DIR usually is), so the other hosts unpack the
// tree at the same place in their own release. One Django start.
const staticOnceScript = `set -e
cd -- "$RELEASE_DIR"
venv/bin/python -c '
import os, runpy, sys
sys.argv = ["manage.py", "collectstatic", "--noinput"]
try:
    runpy.run_path("manage.py", run_name="__main__")
except SystemExit as e:
    if e.code not in (None, 0):
        raise
from django.conf import settings
root = os.path.realpath(str(settings.STATIC_ROOT))
for where, base in (("release", os.environ["RELEASE_DIR"]), ("shared", os.environ["SHARED_DIR"])):
    base = os.path.realpath(base)
    if root.startswith(base + os.sep):
        print("` + staticRootMarker + `%s %s" % (where, os.path.relpath(root, base)))
        break
else:
    print("` + staticRootMarker + `outside %s" % root)
'
`

// staticRootMarker starts the line staticOnceScript says STATIC_ROOT with.
const staticRootMarker = "opsui-static-root: "

// staticPackScript packs the built tree on the building host and writes
// it to standard output in base64 (the engine carries lines), after one
// line giving its size, sha256 and file count. The archive is made in
// the release first (a leftover goes with it), so a failing tar is an
// error, not a short stream. Symbolic links (collectstatic --link) are
// archived as the files they point to: the builder's paths mean nothing
// on another host.
const staticPackScript = `set -e
` + staticDirPrelude + `tmp=$RELEASE_DIR/.opsui-static.$$.tar.gz
trap 'rm -f -- "$tmp"' EXIT
tar -czhf "$tmp" -C "$dir" .
echo "` + staticTarMarker + `$(wc -c < "$tmp") $(sha256sum < "$tmp" | cut -d' ' -f1) $(find "$dir" -type f | wc -l)"
base64 -w 3072 < "$tmp"
`

// staticTarMarker starts the line staticPackScript describes the archive with.
const staticTarMarker = "opsui-static-tar: "

// staticUnpackScript unpacks the tree built on OPSUI_STATIC_FROM
// (standard input) where that host's STATIC_ROOT was, once its sha256 is
// the one the builder reported.
const staticUnpackScript = `set -e
` + staticDirPrelude + `tmp=$RELEASE_DIR/.opsui-static.$$.tar.gz
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
got=$(sha256sum < "$tmp" | cut -d' ' -f1)
if [ "$got" != "$OPSUI_STATIC_SHA256" ]; then
  echo "the static files from $OPSUI_STATIC_FROM arrived damaged (sha256 $got, want $OPSUI_STATIC_SHA256)" >&2; exit 1
fi
mkdir -p -- "$dir"
tar -xzf "$tmp" -C "$dir"
echo "static files built on $OPSUI_STATIC_FROM unpacked into $dir: $(find "$dir" -type f | wc -l) files, sha256 $(printf '%.12s' "$got")"
`

// staticDirPrelude sets dir to STATIC_ROOT on this host from
// OPSUI_STATIC_BASE (release or shared) and OPSUI_STATIC_DIR (relative,
// checked by staticDir before it is sent).
const staticDirPrelude = `case ${OPSUI_STATIC_BASE-} in
release) dir=$RELEASE_DIR/$OPSUI_STATIC_DIR ;;
shared) dir=$SHARED_DIR/$OPSUI_STATIC_DIR ;;
*) echo "opsui: no static root given" >&2; exit 1 ;;
esac
`

// staticTree is the static files built once in a deploy, kept on the
// operator's machine while the deploy ships them.
type staticTree struct {
	from      string // the host that built it
	base, dir string // where STATIC_ROOT is: "release" or "shared", and the path inside it
	file      string // the archive, in the deploy's own directory
	size      int64
	sha256    string
	files     int
}

// staticBuild is a deploy's static build: at most one host builds at a
// time; the others wait for its outcome.
type staticBuild struct {
	// dir is the deploy's own temporary directory (the artifact's), where
	// the archive is kept.
	dir string

	mu       sync.Mutex
	building bool
	ended    chan struct{} // closed when the build under way ends
	tree     *staticTree   // the build succeeded: ship it
	err      error         // the app's collectstatic failed: final
	perHost  bool          // the tree cannot be shipped: every host builds its own
}

// staticStep is the collectstatic step of static: once on host h: the
// first web host to get here builds, the others wait for it and unpack
// its tree. A build that failed in the app's own collectstatic fails the
// other hosts with its reason (it would fail alike); a builder that was
// lost otherwise (its connection, the transfer) fails alone, and the next
// host to get here builds instead.
func (r *runner) staticStep(ctx context.Context, s Step, h *hostRun, timeout time.Duration) {
	b := &r.static
	for {
		b.mu.Lock()
		switch {
		case b.tree != nil:
			t := b.tree
			b.mu.Unlock()
			r.unpackStatic(ctx, s, h, t, timeout)
			return
		case b.err != nil:
			err := b.err
			b.mu.Unlock()
			r.fail(h, s.Name, remote.ClassExit, err)
			return
		case b.perHost:
			b.mu.Unlock()
			r.runStep(ctx, h, s.Name, withEnv(djangoCollectstaticScript), r.plan.env(h.host, s), timeout, nil, true)
			return
		case ctx.Err() != nil:
			b.mu.Unlock()
			r.fail(h, s.Name, remote.ClassCancelled, context.Cause(ctx))
			return
		case !b.building:
			b.building, b.ended = true, make(chan struct{})
			ended := b.ended
			b.mu.Unlock()
			tree, perHost, err := r.buildStatic(ctx, s, h, timeout)
			b.mu.Lock()
			b.building = false
			b.tree, b.perHost, b.err = tree, perHost, err
			close(ended)
			b.mu.Unlock()
			return
		default:
			ended := b.ended
			b.mu.Unlock()
			select {
			case <-ended:
			case <-ctx.Done():
				r.fail(h, s.Name, remote.ClassCancelled, fmt.Errorf("waiting for the static files: %w", context.Cause(ctx)))
				return
			}
		}
	}
}

// buildStatic runs collectstatic on h and brings its tree back. It
// returns the tree; or perHost when the tree cannot be shipped (h keeps
// its own, the others build theirs); or err when the app's collectstatic
// failed, which fails every other host too. When h fails otherwise, all
// three are zero: another host builds.
func (r *runner) buildStatic(ctx context.Context, s Step, h *hostRun, timeout time.Duration) (*staticTree, bool, error) {
	env := r.plan.env(h.host, s)
	out, ok := r.runStep(ctx, h, s.Name, withEnv(staticOnceScript), env, timeout, nil, true)
	if !ok {
		h.mu.Lock()
		class, herr := h.class, h.err
		h.mu.Unlock()
		if class == remote.ClassExit && herr != nil && ctx.Err() == nil {
			if cause := errors.Unwrap(herr); cause != nil {
				herr = cause // without the step's name, which the other hosts' errors start with
			}
			return nil, false, fmt.Errorf("collectstatic failed on %s, where the static files are built once for every host: %v", h.host.Name, herr)
		}
		return nil, false, nil
	}
	base, dir, why := staticDir(out)
	if why != "" {
		r.notef("static: %s: collectstatic runs on each web host (set static: per_host to say so)", why)
		return nil, true, nil
	}
	t, packFailed, err := r.fetchStatic(ctx, h, env, base, dir, timeout)
	if packFailed {
		// tar refused the tree: it would on any host.
		err = fmt.Errorf("packing the static files built on %s (%s/%s) failed: %w", h.host.Name, base, dir, err)
		r.fail(h, s.Name, remote.ClassExit, err)
		return nil, false, err
	}
	if err != nil {
		// The host holds a tree no other host will have: it cannot go on.
		r.fail(h, s.Name, remote.ClassExit, fmt.Errorf("the static files built here could not be brought back to ship them: %w", err))
		return nil, false, nil
	}
	r.events.send(remote.Event{Host: h.host.Name, Kind: remote.EventStdout,
		Line: fmt.Sprintf("static files packed (%s, sha256 %s): every other web host unpacks this tree", sizeText(t.size), t.sha256[:12])})
	r.notef("static files built once, on %s (%s, %s, sha256 %s), and shipped to every other web host",
		h.host.Name, Plural(t.files, "file", "files"), sizeText(t.size), t.sha256[:12])
	return t, false, nil
}

// staticDir reads where STATIC_ROOT is from staticOnceScript's output, or
// why its tree cannot be shipped. The path is checked here, whatever the
// host said: it is used below the release or shared/ on every host.
func staticDir(out string) (base, dir, why string) {
	var line string
	for l := range strings.SplitSeq(out, "\n") {
		if v, ok := strings.CutPrefix(l, staticRootMarker); ok {
			line = v
		}
	}
	base, dir, _ = strings.Cut(line, " ")
	switch {
	case line == "":
		return "", "", "collectstatic did not say where STATIC_ROOT is"
	case base == "outside":
		return "", "", fmt.Sprintf("STATIC_ROOT %s is outside the release and shared/, where opsui does not write", dir)
	case base != "release" && base != "shared":
		return "", "", fmt.Sprintf("unexpected STATIC_ROOT report %q", line)
	case dir == "" || dir == "." || path.IsAbs(dir) || path.Clean(dir) != dir || dir == ".." || strings.HasPrefix(dir, "../") ||
		strings.ContainsFunc(dir, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", "", fmt.Sprintf("STATIC_ROOT %q is not a directory inside the %s directory", dir, base)
	}
	return base, dir, ""
}

// fetchStatic packs STATIC_ROOT on h and writes it to the deploy's
// directory, checking its size and sha256 against what h reported.
// packFailed says the pack script itself failed (tar refused the tree),
// not the connection or the transfer.
func (r *runner) fetchStatic(ctx context.Context, h *hostRun, env map[string]string, base, dir string, timeout time.Duration) (t *staticTree, packFailed bool, err error) {
	env["OPSUI_STATIC_BASE"], env["OPSUI_STATIC_DIR"] = base, dir
	f, err := os.CreateTemp(r.static.dir, "static-*.tar.gz")
	if err != nil {
		return nil, false, err
	}
	t = &staticTree{from: h.host.Name, base: base, dir: dir, file: f.Name()}
	rd := newStaticReader(f)
	script := sudoPrelude + staticPackScript
	if r.held != nil {
		if err := r.held.Check(ctx, h.host.Name); err != nil {
			f.Close()
			return nil, false, err
		}
		var cancel context.CancelFunc
		ctx, cancel = r.held.HostContext(ctx, h.host.Name)
		defer cancel()
		script = r.held.Guard(h.host.Name) + script
	}
	var errs strings.Builder
	fenced := false
	res, err := remote.Run(ctx, r.conn, []remote.Target{h.target}, script, remote.RunOptions{Env: env, Timeout: timeout}, func(ev remote.Event) {
		switch ev.Kind {
		case remote.EventStdout:
			rd.line(ev.Line)
		case remote.EventStderr:
			fenced = fenced || strings.HasPrefix(ev.Line, fenceMarker)
			if errs.Len() < 4<<10 {
				errs.WriteString(ev.Line + "\n")
			}
		}
	})
	if cerr := rd.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, err
	}
	if hr := res.Hosts[0]; hr.Status != remote.StatusOK {
		err = hr.Err
		if e := strings.TrimSpace(errs.String()); e != "" {
			err = fmt.Errorf("%s", e) // tar's own words
		}
		return nil, hr.Class == remote.ClassExit && !fenced, err
	}
	if rd.err != nil {
		return nil, false, rd.err
	}
	t.size, t.sha256, t.files, err = rd.check()
	return t, false, err
}

// unpackStatic ships tree t to h and unpacks it where t's STATIC_ROOT is.
func (r *runner) unpackStatic(ctx context.Context, s Step, h *hostRun, t *staticTree, timeout time.Duration) {
	f, err := os.Open(t.file)
	if err != nil {
		r.fail(h, s.Name, remote.ClassExit, fmt.Errorf("the static files built on %s: %w", t.from, err))
		return
	}
	defer f.Close()
	env := r.plan.env(h.host, s)
	env["OPSUI_STATIC_BASE"], env["OPSUI_STATIC_DIR"] = t.base, t.dir
	env["OPSUI_STATIC_FROM"], env["OPSUI_STATIC_SHA256"] = t.from, t.sha256
	in := remote.Input{R: io.NewSectionReader(f, 0, t.size), Size: t.size}
	r.runStep(ctx, h, s.Name, staticUnpackScript, env, timeout, &in, true)
}

// describeStatic is what the dry run says of the collectstatic step s:
// where it runs, of the hosts on.
func (p *Plan) describeStatic(w io.Writer, s Step, on []inventory.Host) {
	switch {
	case s.Run == djangoCollectstaticScript:
		fmt.Fprintf(w, "       static: per_host: collectstatic runs on each of the %s\n", Plural(len(on), "web host", "web hosts"))
	case len(on) == 1:
		fmt.Fprintf(w, "       static: once: collectstatic runs on %s\n", on[0].Name)
	default:
		fmt.Fprintf(w, "       static: once: collectstatic runs on one host, the first of %s through its build; its STATIC_ROOT is brought back and unpacked on the other %d (sha256 checked): the same files and manifest everywhere (static: per_host runs it on each)\n",
			hostNames(on), len(on)-1)
	}
}

// sizeText is a byte count for people: KiB below a MiB, else MiB.
func sizeText(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%d KiB", (n+1023)>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}

// staticSteps gives the app's collectstatic step its static mode: the
// preset's per-host script stays only with static: per_host. A stage
// that replaces the step is the app's own and is left alone.
func staticSteps(app inventory.App, steps []Step) {
	if app.Static == inventory.StaticPerHost {
		return
	}
	for i := range steps {
		if steps[i].Run == djangoCollectstaticScript {
			steps[i].Run = staticOnceScript
		}
	}
}
