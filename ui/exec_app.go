package ui

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"charm.land/bubbles/v2/textinput"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
	runview "github.com/opsui/opsui/ui/run"
)

// ExecAppFunc runs command on hosts in app's current release with its
// shared/.env loaded (ops.ExecRequest.App), inside a tea.Cmd, as Exec
// does otherwise.
type ExecAppFunc func(ctx context.Context, hosts []inventory.Host, app, command string, emit func(remote.Event)) (remote.Result, error)

// execInApp is the command line's choice of an app to run the command
// in: it stays until changed, and the prompt always says it.
type execInApp struct {
	exec ExecAppFunc // nil: the choice is off
	app  string      // "" runs the command as it is
}

// prompt names the app in the command line's prompt.
func (e execInApp) prompt(in *textinput.Model) {
	if e.app != "" {
		in.Prompt = strings.Replace(in.Prompt, "command", "command in "+e.app, 1)
	}
}

// nextExecApp moves the command line's choice to the next app of the
// fleet, after the last to none.
func (a App) nextExecApp() App {
	var apps []string
	if f := a.fleet.Fleet(); f != nil {
		for _, app := range f.Apps {
			apps = append(apps, app.Name)
		}
	}
	e := &a.cmdline.inApp
	switch {
	case e.exec == nil:
		a.notice = "running a command in an app is not available here"
		return a
	case len(apps) == 0:
		a.notice = "the inventory has no app"
		return a
	}
	switch i := slices.Index(apps, e.app); {
	case e.app == "":
		e.app = apps[0]
	case i < 0 || i+1 == len(apps):
		e.app = ""
	default:
		e.app = apps[i+1]
	}
	a.notice = ""
	// The staged prompt is the base; the app is named on top of it.
	a.cmdline.staged.on = !a.cmdline.staged.on
	return a.toggleStaged()
}

// execNow is how the command line runs a command now: in the app chosen,
// whose name the run's title then carries, or as it is.
func (a App) execNow(feed *runview.Feed) func(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error) {
	e := a.cmdline.inApp
	if e.app == "" || e.exec == nil {
		return a.cmdline.exec
	}
	feed.SetTitle(fmt.Sprintf("run %d in %s", feed.ID(), e.app))
	return func(ctx context.Context, hosts []inventory.Host, command string, emit func(remote.Event)) (remote.Result, error) {
		return e.exec(ctx, hosts, e.app, command, emit)
	}
}
