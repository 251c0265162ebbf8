package deploy

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// BuildNote says in one line what the deploy's build will do, in the words
// of the dry run, the wizard's preview and the deploy: "" when the app has
// no build.
func (p *Plan) BuildNote() string {
	b := p.App.Build
	if b == nil {
		return ""
	}
	what := fmt.Sprintf("%s on this machine (timeout %s)", Plural(len(b.Run), "command", "commands"), b.TimeoutOrDefault())
	if p.NoBuildCache {
		return "build: will run " + what + ": --no-build-cache"
	}
	root, err := BuildCacheDir(p.BuildCache)
	if err != nil {
		return fmt.Sprintf("build: will run %s: no cache (%v)", what, err)
	}
	if info, ok := LookupBuild(root, p.App, p.Source.Commit); ok {
		return "build: " + info.Cached()
	}
	return fmt.Sprintf("build: will run %s: nothing cached for %s and this build (key %s)", what,
		ShortCommit(p.Source.Commit), ShortKey(BuildKey(p.App, p.Source.Commit)))
}

// describeBuild writes the build a dry run shows: its commands, the
// variables they get, and whether it will run or is cached.
func (p *Plan) describeBuild(w io.Writer) {
	b := p.App.Build
	if b == nil {
		return
	}
	fmt.Fprintf(w, "build, before the lock and before anything is uploaded, in a fresh copy of the tree of %s:\n", ShortCommit(p.Source.Commit))
	for _, c := range b.Run {
		for i, line := range strings.Split(strings.TrimRight(c, "\n"), "\n") {
			lead := "$"
			if i > 0 {
				lead = " "
			}
			fmt.Fprintf(w, "  %s %s\n", lead, line)
		}
	}
	vars := []string{"APP=" + p.App.Name, "COMMIT=" + p.Source.Commit, "ENV=" + p.Env.Name, "RELEASE_ID=" + p.ReleaseID}
	for _, k := range slices.Sorted(maps.Keys(b.Env)) {
		vars = append(vars, k+"="+remote.Quote(b.Env[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(b.Secrets)) {
		vars = append(vars, k+"="+inventory.SecretLabel(b.Secrets[k])) // resolved when the build runs, never shown
	}
	fmt.Fprintf(w, "  its environment (with yours): %s\n", strings.Join(vars, " "))
	fmt.Fprintf(w, "  %s\n", p.BuildNote())
}

// artifactName is what the upload ships, as the dry run names it.
func (p *Plan) artifactName() string {
	if p.App.Build != nil {
		return "the build of " + ShortCommit(p.Source.Commit)
	}
	return "git archive " + ShortCommit(p.Source.Commit)
}

// buildSkipsRequirements says the requirements cannot, or need not, be
// checked before a deploy with a build: what the build leaves is known
// only once it has run (cached), and a release with wheels/ installs its
// pins. The deploy's own check on each host still runs.
func (p *Plan) buildSkipsRequirements() bool {
	root, err := BuildCacheDir(p.BuildCache)
	if err != nil || p.NoBuildCache {
		return true
	}
	info, ok := LookupBuild(root, p.App, p.Source.Commit)
	return !ok || info.Wheels
}
