package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

func newCompareCmd(c *cli) *cobra.Command {
	var (
		app, env string
		asJSON   bool
	)
	cmd := &cobra.Command{
		Use:   "compare A B [--app A] [--env E] [--json]",
		Short: "Compare two recorded releases side by side",
		Long: `Show two recorded releases side by side: their facts, the commits between them
both ways (from the app's git repository), the diffstat, the migrations and
requirements files that differ, and each host's result in both, with the hosts
whose outcome differed. A and B are release ids, run ids or commit prefixes
(when only one release matches); the older of the two is shown as A.`,
		Example: `  opsui compare 20261123101500 20261124093000 --app shop --env production
  opsui compare 41 42 --json
  opsui compare 3f2a9c1 8d01e77 --env staging`,
		Args: cobra.ExactArgs(2),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		svc := &ops.Service{Store: s}
		cmp, err := svc.CompareReleases(ctx, ops.CompareQuery{App: app, Env: env, A: args[0], B: args[1]})
		if err != nil {
			return opError(err)
		}
		if asJSON {
			return writeJSON(c.stdout, comparisonJSON(cmp.A, cmp.B, cmp.Comparison))
		}
		return printComparison(c.stdout, cmp.A, cmp.B, cmp.Comparison)
	})
	cmd.Flags().StringVar(&app, "app", "", "only releases of this app")
	cmd.Flags().StringVar(&env, "env", "", "only releases to this environment")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// releaseFacts are a release's facts as compare prints them.
type releaseFacts struct {
	App       string `json:"app"`
	Env       string `json:"env"`
	ReleaseID string `json:"release_id"`
	Kind      string `json:"kind"`
	Commit    string `json:"commit"`
	Subject   string `json:"subject,omitempty"`
	Branch    string `json:"branch,omitempty"`
	Operator  string `json:"operator"`
	Started   string `json:"started"`
	Duration  string `json:"duration,omitempty"`
	Result    string `json:"result"`
	Strategy  string `json:"strategy,omitempty"`
	Hosts     int    `json:"hosts"`
	RunID     int64  `json:"run_id,omitempty"`
	Migrated  bool   `json:"migrations_applied"`
}

func factsOf(r store.Release) releaseFacts {
	f := releaseFacts{App: r.App, Env: r.Env, ReleaseID: r.ReleaseID, Kind: r.Kind, Commit: r.Commit, Subject: r.Subject,
		Branch: r.Branch, Operator: r.Operator, Started: r.StartedAt.Time().UTC().Format(time.RFC3339), Result: r.Result.String(),
		Strategy: r.Strategy, Hosts: len(r.HostList()), RunID: r.RunID.Int64, Migrated: r.MigrationsApplied}
	if r.FinishedAt != 0 {
		f.Duration = r.FinishedAt.Time().Sub(r.StartedAt.Time()).Round(time.Millisecond).String()
	}
	return f
}

// hostRow is one host's outcome in both releases.
type hostRow struct {
	Host    string `json:"host"`
	A       string `json:"a"`
	B       string `json:"b"`
	TookA   string `json:"took_a,omitempty"`
	TookB   string `json:"took_b,omitempty"`
	Differs bool   `json:"differs"`
}

func hostRows(cmp deploy.Comparison) []hostRow {
	differ := cmp.DifferingHosts()
	took := func(m map[string]time.Duration, h string) string {
		if d, ok := m[h]; ok {
			return d.Round(time.Millisecond).String()
		}
		return ""
	}
	var rows []hostRow
	for _, h := range cmp.Hosts() {
		rows = append(rows, hostRow{Host: h, A: cmp.HostsA[h], B: cmp.HostsB[h], TookA: took(cmp.TookA, h), TookB: took(cmp.TookB, h),
			Differs: slices.Contains(differ, h)})
	}
	return rows
}

func comparisonJSON(a, b store.Release, cmp deploy.Comparison) any {
	type commit struct {
		Hash    string `json:"hash"`
		Author  string `json:"author"`
		Subject string `json:"subject"`
	}
	commits := func(cs []deploy.Commit) []commit {
		out := make([]commit, len(cs))
		for i, c := range cs {
			out[i] = commit{c.Hash, c.Author, c.Subject}
		}
		return out
	}
	return struct {
		A              releaseFacts `json:"a"`
		B              releaseFacts `json:"b"`
		Commits        []commit     `json:"commits"`
		Backward       []commit     `json:"commits_only_in_a"`
		Diffstat       string       `json:"diffstat"`
		Migrations     []string     `json:"migrations"`
		Requirements   []string     `json:"requirements"`
		Hosts          []hostRow    `json:"hosts"`
		DifferingHosts []string     `json:"differing_hosts"`
	}{factsOf(a), factsOf(b), commits(cmp.Commits), commits(cmp.Backward), cmp.Diffstat, nonNil(cmp.Migrations),
		nonNil(cmp.Requirements), hostRows(cmp), nonNil(cmp.DifferingHosts())}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// printComparison writes the comparison as text: the facts in two
// columns, then what lies between the releases.
func printComparison(w io.Writer, a, b store.Release, cmp deploy.Comparison) error {
	fa, fb := factsOf(a), factsOf(b)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\tA (older)\tB (newer)")
	for _, r := range [][3]string{
		{"app", fa.App, fb.App}, {"env", fa.Env, fb.Env}, {"release", fa.ReleaseID + " " + fa.Kind, fb.ReleaseID + " " + fb.Kind},
		{"commit", deploy.ShortCommit(fa.Commit) + " " + fa.Subject, deploy.ShortCommit(fb.Commit) + " " + fb.Subject},
		{"branch", dash(fa.Branch), dash(fb.Branch)}, {"operator", fa.Operator, fb.Operator},
		{"started (UTC)", fa.Started, fb.Started}, {"result", store.ReleaseResult(fa.Result).Words(), store.ReleaseResult(fb.Result).Words()},
		{"hosts", strconv.Itoa(fa.Hosts), strconv.Itoa(fb.Hosts)}, {"took", dash(fa.Duration), dash(fb.Duration)},
		{"strategy", dash(fa.Strategy), dash(fb.Strategy)}, {"run", runText(fa.RunID), runText(fb.RunID)},
		{"migrations", appliedText(fa.Migrated), appliedText(fb.Migrated)},
	} {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r[0], r[1], r[2])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncommits in B not in A (%d):\n", len(cmp.Commits))
	for _, c := range cmp.Commits {
		fmt.Fprintf(w, "  %s  %-20s  %s\n", deploy.ShortCommit(c.Hash), c.Author, c.Subject)
	}
	if len(cmp.Backward) > 0 {
		fmt.Fprintf(w, "commits in A not in B (%d): B went back past them\n", len(cmp.Backward))
		for _, c := range cmp.Backward {
			fmt.Fprintf(w, "  %s  %-20s  %s\n", deploy.ShortCommit(c.Hash), c.Author, c.Subject)
		}
	}
	if ds := strings.TrimRight(cmp.Diffstat, "\n"); ds != "" {
		fmt.Fprintf(w, "\ndiffstat:\n%s\n", ds)
	}
	fmt.Fprintf(w, "\nmigrations that differ (%d):\n", len(cmp.Migrations))
	for _, m := range cmp.Migrations {
		fmt.Fprintf(w, "  %s\n", m)
	}
	fmt.Fprintf(w, "\nrequirements that differ (%d):\n", len(cmp.Requirements))
	for _, r := range cmp.Requirements {
		fmt.Fprintf(w, "  %s\n", r)
	}
	fmt.Fprintln(w, "\nhosts:")
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  HOST\tA\tTOOK\tB\tTOOK\t")
	for _, h := range hostRows(cmp) {
		mark := ""
		if h.Differs {
			mark = "differs"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", h.Host, dash(h.A), dash(h.TookA), dash(h.B), dash(h.TookB), mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if d := cmp.DifferingHosts(); len(d) > 0 {
		fmt.Fprintf(w, "hosts whose outcome differed: %s\n", strings.Join(d, ", "))
	} else {
		fmt.Fprintln(w, "hosts whose outcome differed: none")
	}
	return nil
}

func runText(id int64) string {
	if id == 0 {
		return "-"
	}
	return "#" + strconv.FormatInt(id, 10)
}

func appliedText(b bool) string {
	if b {
		return "applied"
	}
	return "none"
}
