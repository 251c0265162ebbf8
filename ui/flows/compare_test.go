package flows

import (
	"context"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/opsui/opsui/store"
)

// TestReleasesShowTheCLIsShortCommit: the releases list and the compare
// view abbreviate a commit as the CLI does (deploy.ShortCommit, 12
// characters), and at 80 columns the list shows as much of the branch
// as it did with 10 (the subject gave up the two columns).
func TestReleasesShowTheCLIsShortCommit(t *testing.T) {
	ff := newFakeFlows(sampleFleet(t))
	fns := ff.fns()
	list := fns.Releases
	fns.Releases = func(ctx context.Context, app, env string) ([]store.Release, error) {
		rs, err := list(ctx, app, env)
		for i := range rs {
			rs[i].Commit += "0123456789abcdef" // a full-length hash
			rs[i].Branch = "release-2025"      // 12 characters: the whole column
		}
		return rs, err
	}
	d := newFlowDriver(t, fns, nil)
	d.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	d.press("R")
	d.see("which app, in which environment?")
	d.press("enter")
	v := d.see("R2", "R1", "R0")
	var header, row string
	for l := range strings.SplitSeq(ansi.Strip(v), "\n") {
		switch f := strings.Fields(l); {
		case len(f) > 0 && f[0] == "RELEASE":
			header = l
		case len(f) > 1 && f[0] == "R1":
			row = l
		}
	}
	if !strings.Contains(row, " c2c2c2c2c2c2 add checkout") || strings.Index(row, " release-202") != 67 {
		t.Errorf("the row of R1 at 80 columns: %q", row)
	}
	if strings.Index(header, " COMMIT       SUBJECT") != 27 || strings.Index(header, " BRANCH") != 67 {
		t.Errorf("the header at 80 columns: %q", header)
	}
	d.press("down", "space", "down", "space", "c")
	v = ansi.Strip(d.see("compare R0 with R1", "commits between them"))
	if !strings.Contains(v, "b1b1b1b1b1b1 first release") || !strings.Contains(v, "c2c2c2c2c2c2 add checkout") {
		t.Errorf("the compare view's commits:\n%s", v)
	}
}
