package deploy

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/opsui/opsui/ops/remote"
)

// checkRequirementsPy compares the pins of a requirements file (argv[1])
// with what the running python (the release's virtualenv) can import:
// each requirement missing or at a version its specifiers exclude is one
// line "requirements: ...". Exit status 1 when any is unmet. It reads
// names and PEP 440 specifiers (==, !=, >=, <=, >, <, ~=, ===, ==X.*);
// options (-r, --hash...), URLs and lines it cannot read are reported as
// not checked, never guessed. Versions compare by their release numbers.
//
// OPSUI_REQUIREMENTS_MODE=build is the build step's own check: it first
// says which python the virtualenv runs, reads no file when there is none,
// prints each unmet pin as "warning: requirements: ..." and exits 0; with
// strict, as "error: requirements: ..." on standard error, and exits 1.
//
// It is a python start on every host of every deploy, so it finds
// installed versions the way importlib.metadata does (the first
// NAME-VERSION.dist-info or .egg-info on sys.path, its Version header)
// without importing it, which costs twice the rest of the check; a name
// it cannot find that way is asked of importlib.metadata.
const checkRequirementsPy = `import os, re, sys
mode = os.environ.get("OPSUI_REQUIREMENTS_MODE", "")
if mode:
    print("virtualenv ready: " + sys.version.split()[0])
    if not os.path.isfile(sys.argv[1]):
        sys.exit(0)
def norm(n):
    return re.sub(r"[-_.]+", "-", n).lower()
dists = None
def listed():
    found = {}
    for d in sys.path:
        try:
            entries = os.listdir(d or ".")
        except OSError:
            continue
        for e in entries:
            for suf, meta in ((".dist-info", "METADATA"), (".egg-info", "PKG-INFO")):
                if e.endswith(suf) and "-" in e:
                    p = os.path.join(d or ".", e)
                    found.setdefault(norm(e.split("-", 1)[0]), os.path.join(p, meta) if os.path.isdir(p) else p)
    return found
def version(name):
    global dists
    if dists is None:
        dists = listed()
    p = dists.get(norm(name))
    if p:
        try:
            with open(p, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if not line.strip():
                        break
                    if line.startswith("Version:"):
                        return line[8:].strip()
        except OSError:
            pass
    try:
        from importlib import metadata
    except ImportError:
        return "?"
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
def rel(v):
    out = []
    for p in v.split("+")[0].split("."):
        m = re.match(r"\d+", p)
        if not m:
            break
        out.append(int(m.group()))
        if m.end() != len(p):
            break
    return tuple(out)
def cmp(a, b):
    n = max(len(a), len(b))
    a, b = a + (0,) * (n - len(a)), b + (0,) * (n - len(b))
    return (a > b) - (a < b)
def meets(inst, op, want):
    if want.endswith(".*") and op in ("==", "!="):
        pre = rel(want[:-2])
        hit = rel(inst)[:len(pre)] == pre
        return hit if op == "==" else not hit
    c = cmp(rel(inst), rel(want))
    if op == "~=":
        w = rel(want)
        return c >= 0 and rel(inst)[:len(w) - 1] == w[:-1]
    return {"===": inst == want, "==": c == 0, "!=": c != 0, ">=": c >= 0, "<=": c <= 0, ">": c > 0, "<": c < 0}[op]
def unmet(text):
    if mode == "strict":
        print("error: requirements: " + text, file=sys.stderr)
    elif mode:
        print("warning: requirements: " + text)
    else:
        print("requirements: " + text)
bad = total = 0
for i, line in enumerate(open(sys.argv[1], encoding="utf-8", errors="replace"), 1):
    line = re.sub(r"(^|\s)#.*", "", line).strip()
    if not line:
        continue
    if line.startswith("-") or "://" in line or "@" in line:
        print("requirements.txt:%d: not checked: %s" % (i, line[:80]))
        continue
    m = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)", line)
    if not m:
        print("requirements.txt:%d: not checked: %s" % (i, line[:80]))
        continue
    total += 1
    name, spec = m.group(1), m.group(3).replace(" ", "")
    inst = version(name)
    if inst == "?":
        print("requirements: not checked: this python has no importlib.metadata")
        sys.exit(0)
    if inst is None:
        unmet("%s%s is required, not installed" % (name, spec))
        bad += 1
        continue
    for part in filter(None, spec.split(",")):
        s = re.match(r"(===|==|!=|~=|>=|<=|>|<)(.+)$", part)
        if not s:
            print("requirements.txt:%d: not checked: %s" % (i, part))
        elif not meets(inst, s.group(1), s.group(2)):
            unmet("%s%s is required, %s is installed" % (name, spec, inst))
            bad += 1
            break
print("requirements: %d of %d met by %s" % (total - bad, total, sys.executable))
if bad and mode == "strict":
    print("strict_requirements: the release's virtualenv does not meet requirements.txt (ship wheels/ in the release)", file=sys.stderr)
sys.exit(1 if bad and mode != "build" else 0)
`

// requirementsCheckScript says which python the release's virtualenv
// runs and checks it against the release's requirements.txt
// (checkRequirementsPy): unmet pins are warnings, or fail the step when
// OPSUI_STRICT_REQUIREMENTS is set (the app's strict_requirements).
const requirementsCheckScript = `OPSUI_REQUIREMENTS_MODE=build
[ -z "${OPSUI_STRICT_REQUIREMENTS-}" ] || OPSUI_REQUIREMENTS_MODE=strict
OPSUI_REQUIREMENTS_MODE=$OPSUI_REQUIREMENTS_MODE venv/bin/python - requirements.txt <<'OPSUI_PY'
` + checkRequirementsPy + `OPSUI_PY
`

// requirementWarnings returns the unmet requirements a build step
// reported in out.
func requirementWarnings(out string) []string {
	var ws []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), "warning: requirements: "); ok {
			ws = append(ws, w)
		}
	}
	return ws
}

// previewRequirementsScript checks OPSUI_REQUIREMENTS (the target
// commit's requirements.txt) against what the host's python imports: the
// preset builds each release's virtualenv from that python with the
// system's site packages, so it imports the same. Nothing is written but a
// private temporary file, removed at once.
const previewRequirementsScript = `tmp=$(mktemp) || exit 1
trap 'rm -f -- "$tmp"' EXIT
printf '%s\n' "$OPSUI_REQUIREMENTS" > "$tmp"
py=${OPSUI_PYTHON:-/usr/bin/python3}
"$py" - "$tmp" <<'OPSUI_PY'
` + checkRequirementsPy + `OPSUI_PY
exit 0
`

// UnmetRequirements reads, before a deploy of p, the requirements.txt
// pins of its commit that each host's python does not meet (what the
// build would warn about, or refuse with strict_requirements). Only the
// django preset builds a virtualenv; a release that ships wheels/
// installs its pins, so neither is checked (nil). A host that cannot be
// checked says why in its entry.
func UnmetRequirements(ctx context.Context, conn remote.Connector, targets []remote.Target, p *Plan) map[string][]string {
	if p.App.Preset != PresetDjango || p.Source.Commit == "" {
		return nil
	}
	reqs, err := GitOutput(ctx, p.App.Repo, "show", p.Source.Commit+":requirements.txt")
	if err != nil {
		return nil // no requirements.txt in the release
	}
	if p.App.Build != nil && p.buildSkipsRequirements() { // build_plan.go
		return nil
	}
	if _, err := git(ctx, p.App.Repo, "rev-parse", "--verify", "--quiet", p.Source.Commit+":wheels"); err == nil {
		return nil
	}
	out := map[string][]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() {
			env := map[string]string{"OPSUI_REQUIREMENTS": reqs}
			if h, ok := p.Fleet.Host(t.Name); ok {
				if py := p.Fleet.SettingsFor(h, "web").Options["python"]; py != "" {
					env["OPSUI_PYTHON"] = py
				}
			}
			text, res := runCapture(ctx, conn, t, previewRequirementsScript, env, time.Minute)
			var ws []string
			if res.Status != remote.StatusOK {
				ws = []string{fmt.Sprintf("not checked: %v", res.Err)}
			} else {
				for line := range strings.SplitSeq(text, "\n") {
					if w, ok := strings.CutPrefix(line, "requirements: "); ok && strings.Contains(w, " is required, ") {
						ws = append(ws, w)
					}
				}
			}
			mu.Lock()
			out[t.Name] = ws
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}
