package flows

import (
	"context"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/store"
)

// TestReleasesTableAt80Columns: the RELEASE column shows the short
// commit as the CLI writes it (deploy.ShortCommit) and the ref beside the
// id; at 80 columns the result, where it is live, when and who stay, the
// rest is reached with →; a result never spills into the next column and
// is said in words ("rolled back"); a release switched back everywhere
// is live on none.
func TestReleasesTableAt80Columns(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	list := fns.Releases
	fns.Releases = func(ctx context.Context, app, env string) ([]store.Release, error) {
		rs, err := list(ctx, app, env)
		for i := range rs {
			rs[i].Commit += "0123456789abcdef" // a full-length hash
			rs[i].Branch = "release-2025"
			rs[i].Operator = "alice.longname@laptop"
		}
		rs[1].Result, rs[1].Hosts = store.ReleaseRolledBack, "[]"
		return rs, err
	}
	d := newFlowDriver(t, fns, nil)
	d.width, d.height = 80, 22 // the console's 80x24, less its header and footer
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see("R2", "R1", "R0")
	var header, row string
	lines := strings.Split(ansi.Strip(v), "\n")
	for _, l := range lines[:len(lines)-1] { // the last: the driver's footer, unclipped
		if ansi.StringWidth(l) > 80 {
			t.Errorf("a line wider than 80: %q", l)
		}
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "RELEASE":
			header = l
		case len(f) > 1 && f[0] == "R1":
			row = l
		}
	}
	if !strings.Contains(lines[0], "columns: 3 more →") {
		t.Errorf("the title does not say more columns are to the right: %q", lines[0])
	}
	for _, want := range []string{"RELEASE COMMIT REF", "RESULT", "LIVE", "WHEN", "OPERATOR"} {
		if !strings.Contains(header, want) {
			t.Errorf("the header at 80 columns lacks %q: %q", want, header)
		}
	}
	if !strings.Contains(row, "R1             c2c2c2c2c2c2 release… rolled back none ") || !strings.Contains(row, " alice.lon…") {
		t.Errorf("the row of R1 at 80 columns: %q", row)
	}
	d.press("l", "l", "l", "l")
	v = ansi.Strip(d.see("SUBJECT", "add checkout"))
	if !strings.Contains(v, "columns: ← more") || !strings.Contains(v, "R1             c2c2c2c2c2c2") {
		t.Errorf("→ does not scroll to the subject, keeping the release:\n%s", v)
	}
	d.press("h", "h", "h", "h")
	d.see("RESULT", "3 more →")
	d.press("down", "space", "down", "space", "c")
	v = ansi.Strip(d.see("compare R0 with R1", "commits between them"))
	if !strings.Contains(v, "b1b1b1b1b1b1 first release") || !strings.Contains(v, "c2c2c2c2c2c2 add checkout") {
		t.Errorf("the compare view's commits:\n%s", v)
	}
}
