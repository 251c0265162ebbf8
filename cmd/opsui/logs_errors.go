package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/ops/logs"
)

// errorsLines is how many lines of each file `opsui logs --errors` reads
// when --since-lines is not given.
const errorsLines = 1000

// errorsFlags are opsui logs' --errors and the app it ties errors to.
type errorsFlags struct {
	on  bool
	app string
}

func (e *errorsFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&e.on, "errors", false, fmt.Sprintf("read the last --since-lines lines of each file once (default %d) and list its errors grouped across hosts, each with the release it was first seen in", errorsLines))
	cmd.Flags().StringVar(&e.app, "app", "", "with --errors: the app the hosts run (default: the fleet's only app, else each host's last recorded one)")
}

// lines is how many lines --errors reads: --since-lines when given.
func (e *errorsFlags) lines(cmd *cobra.Command, since int) int {
	if cmd.Flags().Changed("since-lines") {
		return since
	}
	return errorsLines
}

// printLogErrors prints the error groups of the last lines of sources,
// most seen first, each with where it was first seen.
func (c *cli) printLogErrors(ctx context.Context, svc *ops.Service, f *inventory.Fleet, sources []logs.Source, lines int, app string) error {
	if app != "" {
		if _, ok := f.App(app); !ok {
			return inputError{fmt.Errorf("--app %s: no such app in the inventory", app)}
		}
	}
	groups, unread, err := svc.LogErrors(ctx, f, sources, lines, app)
	for _, u := range unread {
		fmt.Fprintf(c.stderr, "opsui: %s\n", u)
	}
	if err != nil && groups == nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(c.stderr, "opsui: warning: first sightings not recorded: %v\n", err)
	}
	if len(groups) == 0 {
		fmt.Fprintf(c.stdout, "no errors in the last %d lines of %s\n", lines, deploy.Plural(len(sources), "host", "hosts"))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "COUNT\tHOSTS\tFIRST SEEN IN\tERROR")
	for _, g := range groups {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", g.Count, strings.Join(g.Hosts, ","), firstSeenCell(g.First), g.Summary)
		if g.Frame != "" {
			fmt.Fprintf(tw, "\t\t\t  %s\n", g.Frame)
		}
	}
	return tw.Flush()
}

// firstSeenCell is the FIRST SEEN IN column: the release, or why there
// is none.
func firstSeenCell(f *ops.FirstSeen) string {
	if f == nil {
		return "-"
	}
	return f.Where()
}
