package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

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
	on     bool
	app    string
	asJSON bool
}

func (e *errorsFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&e.on, "errors", false, fmt.Sprintf("read the last --since-lines lines of each file once (default %d) and list its errors grouped across hosts, each with the release it was first seen in", errorsLines))
	cmd.Flags().StringVar(&e.app, "app", "", "with --errors: the app the hosts run (default: the fleet's only app, else each host's last recorded one)")
	cmd.Flags().BoolVar(&e.asJSON, "json", false, "with --errors: print the groups as one JSON object")
}

// check refuses --json without --errors: following logs prints lines.
func (e *errorsFlags) check() error {
	if e.asJSON && !e.on {
		return usageError{errors.New("--json goes with --errors (a followed log is printed line by line; --save keeps it)")}
	}
	return nil
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
func (c *cli) printLogErrors(ctx context.Context, svc *ops.Service, f *inventory.Fleet, sources []logs.Source, lines int, app string, asJSON bool) error {
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
	if asJSON {
		return writeJSON(c.stdout, logErrorsJSON(groups, unread, lines, len(sources)))
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

// errorsJSON is `opsui logs --errors --json`: the groups in the table's
// order, with the words the FIRST SEEN IN column shows.
type errorsJSON struct {
	Lines  int          `json:"lines"` // read from the end of each file
	Hosts  int          `json:"hosts"`
	Unread []string     `json:"unread"`
	Groups []errorGroup `json:"groups"`
}

type errorGroup struct {
	Count     int        `json:"count"`
	Hosts     []string   `json:"hosts"`
	Summary   string     `json:"summary"`
	Frame     string     `json:"frame,omitempty"`
	Traceback bool       `json:"traceback"`
	Example   []string   `json:"example"`
	FirstSeen *firstSeen `json:"first_seen_in"` // null: not an error signature (an access log's status)
}

type firstSeen struct {
	Where     string `json:"where"`
	ReleaseID string `json:"release_id"`
	Commit    string `json:"commit"`
	Host      string `json:"host"`
	From      string `json:"from"` // host, record or backlog
	At        string `json:"at"`
}

func logErrorsJSON(groups []ops.ErrorGroup, unread []string, lines, hosts int) errorsJSON {
	out := errorsJSON{Lines: lines, Hosts: hosts, Unread: unread, Groups: []errorGroup{}}
	if out.Unread == nil {
		out.Unread = []string{}
	}
	for _, g := range groups {
		j := errorGroup{Count: g.Count, Hosts: g.Hosts, Summary: g.Summary, Frame: g.Frame, Traceback: g.Traceback, Example: g.Example}
		if f := g.First; f != nil {
			j.FirstSeen = &firstSeen{Where: f.Where(), ReleaseID: f.FirstReleaseID, Commit: f.FirstCommit, Host: f.FirstHost,
				From: string(f.ReleaseFrom), At: f.FirstSeenAt.Time().UTC().Format(time.RFC3339)}
		}
		out.Groups = append(out.Groups, j)
	}
	return out
}
