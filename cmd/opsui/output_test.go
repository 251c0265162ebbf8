package main

import (
	"context"
	"strings"
	"testing"

	"github.com/opsui/opsui/store"
)

// recordedHosts returns the hosts of the newest recorded exec run.
func recordedHosts(t *testing.T, db string) (store.Run, []store.RunHost, *store.Store) {
	t.Helper()
	s, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	runs, err := s.ListRuns(context.Background(), store.RunFilter{Kind: store.KindExec, Limit: 1})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	hosts, err := s.RunHosts(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return runs[0], hosts, s
}

// opsui exec on real hosts records at most --record-limit (else the config
// file's output.record_limit) of each host's output, prints everything,
// counts every byte and says the record was cut.
func TestExecRecordLimit(t *testing.T) {
	_, db := execFleet(t, 2, true)
	writeConfig(t, "output:\n  record_limit: 2KiB\n  keep: 30d\n  max_size: 1GiB\n")
	out, err := opsuiCmd(t, db, "", "exec", "--", "seq 1 3000")
	if err != nil {
		t.Fatalf("exec: %v\n%s", err, out)
	}
	if !strings.Contains(out, "web1 | 3000\n") || !strings.Contains(out, "web2 | 3000\n") {
		t.Errorf("the terminal did not get every line:\n%.300s", out[len(out)-300:])
	}
	if !strings.Contains(out, "opsui: the record of run 1 keeps the first 2.0 KiB of each host's output: 2 hosts printed more (--record-limit)") {
		t.Errorf("no note of the cut:\n%.400s", out[len(out)-400:])
	}
	const full = 13893 // bytes of seq 1 3000
	run, hosts, _ := recordedHosts(t, db)
	for _, h := range hosts {
		if h.RecordedBytes != 2048 || h.OutputBytes != full {
			t.Errorf("%s: %d of %d recorded, want 2048 of %d", h.Host, h.RecordedBytes, h.OutputBytes, full)
		}
	}
	if run.RecordedBytes != 2*2048 || run.OutputBytes != 2*full {
		t.Errorf("run counts %d/%d", run.RecordedBytes, run.OutputBytes)
	}

	// The flag wins over the config.
	if out, err := opsuiCmd(t, db, "", "exec", "--record-limit", "none", "--", "seq 1 3000"); err != nil || strings.Contains(out, "keeps the first") {
		t.Fatalf("exec --record-limit none: %v\n%.300s", err, out)
	}
	_, hosts, _ = recordedHosts(t, db)
	for _, h := range hosts {
		if h.RecordedBytes != full || h.Cut() {
			t.Errorf("--record-limit none: %s recorded %d of %d", h.Host, h.RecordedBytes, h.OutputBytes)
		}
	}
	if out, err := opsuiCmd(t, db, "", "exec", "--record-limit", "lots", "--", "true"); err == nil || exitCode(err) != 2 {
		t.Errorf("--record-limit lots: %v, want a usage error\n%s", err, out)
	}

	info := mustRun(t, db, "store", "info")
	for _, want := range []string{"output:    31.1 KiB recorded, in 2 runs",
		"retention: a run records up to 2.0 KiB of each host's output; output pruned after 30 days, the oldest pruned beyond 1.0 GiB in all"} {
		if !strings.Contains(info, want) {
			t.Errorf("store info lacks %q:\n%s", want, info)
		}
	}
}

// A mistake in the config's output section stops every command that opens
// the database, naming the file and line.
func TestOutputConfigErrors(t *testing.T) {
	db := t.TempDir() + "/opsui.db"
	for doc, want := range map[string]string{
		"output:\n  record_limit: lots\n": `config.yaml:2: output.record_limit: invalid size "lots"`,
		"output:\n  keep: forever\n":      `config.yaml:2: output.keep: invalid age "forever"`,
		"output:\n  budget: 1GiB\n":       `config.yaml:2: unknown output setting "budget"`,
		"output: 16MiB\n":                 `config.yaml:1: output: want a mapping`,
	} {
		writeConfig(t, doc)
		if _, err := opsuiCmd(t, db, "", "store", "info"); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", doc, err, want)
		}
	}
	writeConfig(t, "output:\n  record_limit: none\n  keep: none\n  max_size: none\n")
	if out := mustRun(t, db, "store", "info"); !strings.Contains(out, "retention: a run records everything of each host's output; output kept however old, no total size budget") {
		t.Errorf("store info:\n%s", out)
	}
}
