package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opsui/opsui/internal/sshtest"
	"github.com/opsui/opsui/store"
)

// errorsFleet is logsFleet with an app, shop, deployed under each host's
// home (srv/), so that a host's current release can be read.
func errorsFleet(t *testing.T, n int) (*sshtest.Fleet, string, string) {
	t.Helper()
	fleet, db := execFleet(t, n, true)
	if !fleet.Isolated {
		t.Skip("needs isolated hosts (root): the test writes each host's files in its own home")
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	fmt.Fprintf(&doc, "environments:\n  - name: test\napps:\n  - name: shop\n    repo: %s\n    deploy_to: %s\nroles:\n  web:\n    logs: [%s]\nhosts:\n",
		t.TempDir(), filepath.Join(u.HomeDir, "srv"), filepath.Join(u.HomeDir, "app.log"))
	for _, h := range fleet.Hosts {
		fmt.Fprintf(&doc, "  - name: %s\n    address: %s\n    port: %d\n    user: %s\n    env: test\n    roles: [web]\n    identity_file: %s\n",
			h.Name, h.Addr, h.Port, fleet.User, fleet.ClientKeyPath)
	}
	file := filepath.Join(t.TempDir(), "fleet.yaml")
	if err = os.WriteFile(file, []byte(doc.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	mustRun(t, db, "inventory", "import", file)
	return fleet, db, u.HomeDir
}

// switchTo lays out release id (REVISION commit) on h and points current at it.
func switchTo(t *testing.T, h *sshtest.Host, id, commit string) {
	t.Helper()
	rel := filepath.Join(h.Home, "srv", "releases", id)
	if err := os.MkdirAll(rel, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rel, "REVISION"), []byte(commit+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Join(h.Home, "srv", "current")
	_ = os.Remove(cur)
	if err := os.Symlink("releases/"+id, cur); err != nil {
		t.Fatal(err)
	}
}

// recordRelease records a successful deploy of id to hosts.
func recordRelease(t *testing.T, db, id, commit string, hosts []string) {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := &store.Release{App: "shop", Env: "test", ReleaseID: id, Kind: store.KindDeploy, Commit: commit, Operator: "ann", Subject: "release " + id}
	if err := s.CreateRelease(ctx, r, hosts); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishRelease(ctx, r.ID, store.ReleaseSuccess, false); err != nil {
		t.Fatal(err)
	}
}

// TestLogsErrorsFirstSeenIn: opsui logs --errors ties each error to the
// release its host ran (read from the host's current, else the record),
// the first sighting stays when the fleet moves on, and opsui releases
// --errors lists what each release brought, as --json does.
func TestLogsErrorsFirstSeenIn(t *testing.T) {
	fleet, db, _ := errorsFleet(t, 2)
	const r1, c1 = "20261204171534", "edc515f8aa11aa11aa11aa11aa11aa11aa11aa11"
	const r2, c2 = "20261205090000", "bbbbbbbbcc22cc22cc22cc22cc22cc22cc22cc22"
	var names []string
	for _, h := range fleet.Hosts {
		switchTo(t, h, r1, c1)
		appendTo(t, h, "app.log", "2026-12-04 17:20:01,123 INFO served", "2026-12-04 17:20:02,456 ERROR payment failed: card declined",
			`10.0.0.1 - - [04/Dec/2026:17:20:03 +0000] "GET /cart/ HTTP/1.1" 500 0 "-" "curl"`)
		names = append(names, h.Name)
	}
	recordRelease(t, db, r1, c1, names)
	out := squeeze(mustRun(t, db, "logs", "--errors", "--role", "web"))
	t.Logf("first read:\n%s", out)
	if !strings.Contains(out, "COUNT HOSTS FIRST SEEN IN ERROR") ||
		!strings.Contains(out, "2 web1,web2 "+r1+" (edc515f8aa11) or before ERROR payment failed: card declined") {
		t.Fatalf("the error is not tied to %s:\n%s", r1, out)
	}
	// An access-log status is not an error signature: listed, tied to none.
	if !strings.Contains(out, "2 web1,web2 - 500 GET /cart/") {
		t.Errorf("the access-log status is not listed untied:\n%s", out)
	}

	// The fleet moves to r2, where web2 logs a new error; web1 cannot be
	// read (its current is gone), so the record answers for it.
	recordRelease(t, db, r2, c2, names)
	switchTo(t, fleet.Hosts[1], r2, c2)
	appendTo(t, fleet.Hosts[1], "app.log", "2026-12-05 09:01:00,000 ERROR stock: negative quantity")
	if err := os.Remove(filepath.Join(fleet.Hosts[0].Home, "srv", "current")); err != nil {
		t.Fatal(err)
	}
	appendTo(t, fleet.Hosts[0], "app.log", "2026-12-05 09:02:00,000 ERROR cache: miss storm")
	out = squeeze(mustRun(t, db, "logs", "--errors", "--role", "web"))
	t.Logf("second read:\n%s", out)
	for _, want := range []string{
		r1 + " (edc515f8aa11) or before ERROR payment failed", // first seen wins
		"1 web2 " + r2 + " (bbbbbbbbcc22) or before ERROR stock: negative quantity",
		"1 web1 " + r2 + " (bbbbbbbbcc22, from the record) ERROR cache: miss storm",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q:\n%s", want, out)
		}
	}

	// The same groups as JSON, in the table's words.
	var js struct {
		Lines  int
		Hosts  int
		Groups []struct {
			Count     int
			Hosts     []string
			Summary   string
			FirstSeen *struct{ Where, ReleaseID, Commit, Host, From string } `json:"first_seen_in"`
		}
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "logs", "--errors", "--role", "web", "--json")), &js); err != nil {
		t.Fatal(err)
	}
	found := map[string]string{}
	for _, g := range js.Groups {
		where := "-"
		if g.FirstSeen != nil {
			where = g.FirstSeen.Where + " " + g.FirstSeen.From
		}
		found[g.Summary] = fmt.Sprintf("%d %s %s", g.Count, strings.Join(g.Hosts, ","), where)
	}
	for summary, want := range map[string]string{
		"ERROR payment failed: card declined": "2 web1,web2 " + r1 + " (edc515f8aa11) or before backlog",
		"ERROR cache: miss storm":             "1 web1 " + r2 + " (bbbbbbbbcc22, from the record) record",
		"500 GET /cart/":                      "2 web1,web2 -",
	} {
		if got := found[summary]; got != want {
			t.Errorf("logs --errors --json: %q is %q, want %q (all: %v)", summary, got, want, found)
		}
	}
	if js.Lines != 1000 || js.Hosts != 2 {
		t.Errorf("logs --errors --json read %d lines of %d hosts, want 1000 of 2", js.Lines, js.Hosts)
	}
	if _, err := opsuiCmd(t, db, "", "logs", "--role", "web", "--json"); err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "--json goes with --errors") {
		t.Errorf("logs --json without --errors: %v", err)
	}

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	err = st.SaveReleaseWatch(context.Background(), store.ReleaseWatch{App: "shop", Env: "test", ReleaseID: r2, Verdict: store.WatchTripped,
		Detail: "regression watch TRIPPED on batch 1/2: new error ERROR stock: negative quantity", Signature: "abc"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := mustRun(t, db, "releases"); !strings.Contains(out, r2+" shop/test: watch tripped: regression watch TRIPPED on batch 1/2") {
		t.Errorf("releases does not say the watch verdict:\n%s", out)
	}
	out = mustRun(t, db, "releases", "--app", "shop", "--env", "test", "--errors", r2)
	t.Logf("releases --errors %s:\n%s", r2, out)
	if !strings.Contains(out, "watch tripped: regression watch TRIPPED") || !strings.Contains(out, "2 new errors first seen in "+r2+":") || !strings.Contains(out, "ERROR stock: negative quantity; first seen on web2 at ") ||
		!strings.Contains(out, "ERROR cache: miss storm; first seen on web1") || strings.Contains(out, "payment failed") {
		t.Errorf("releases --errors %s:\n%s", r2, out)
	}
	if out := mustRun(t, db, "releases", "--errors", r1); !strings.Contains(out, "1 new error first seen in "+r1+":") {
		t.Errorf("releases --errors %s:\n%s", r1, out)
	}
	if out, err := opsuiCmd(t, db, "", "releases", "--errors", "20990101000000"); err == nil || exitCode(err) != 3 {
		t.Errorf("an unknown release: %v (exit %d)\n%s", err, exitCode(err), out)
	}
	var rows []struct {
		ReleaseID string                 `json:"release_id"`
		NewErrors []store.ErrorSignature `json:"new_errors"`
		Watch     *store.ReleaseWatch    `json:"watch"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, db, "releases", "--json")), &rows); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		want := map[string]int{r1: 1, r2: 2}[r.ReleaseID]
		if len(r.NewErrors) != want {
			t.Errorf("releases --json: %s has %d new errors, want %d: %+v", r.ReleaseID, len(r.NewErrors), want, r.NewErrors)
		}
		if tripped := r.Watch != nil && r.Watch.Verdict == store.WatchTripped && r.Watch.Signature == "abc"; tripped != (r.ReleaseID == r2) {
			t.Errorf("releases --json: %s has watch %+v", r.ReleaseID, r.Watch)
		}
	}
}
