package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/ui"
)

// writeConfig puts a config file where the console looks for it.
func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	path := filepath.Join(dir, "opsui", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConsoleConfigFileAndFlags(t *testing.T) {
	writeConfig(t, "theme: light\nrefresh: 9s\nkeys:\n  follow: F\n")
	c := &cli{}
	root := newRootCmd(c)
	if err := root.ParseFlags([]string{"--theme", "high-contrast"}); err != nil {
		t.Fatal(err)
	}
	keys, err := c.consoleConfig(root)
	if err != nil {
		t.Fatal(err)
	}
	if c.theme != "high-contrast" || c.refresh != 9*time.Second {
		t.Errorf("theme %q (the flag wins), refresh %v (the file's)", c.theme, c.refresh)
	}
	if keys.Follow.Help().Key != "F" {
		t.Errorf("follow key %q", keys.Follow.Help().Key)
	}
}

func TestConsoleRefusesABadConfigFile(t *testing.T) {
	path := writeConfig(t, "keys:\n  follow: f\n  frobnicate: d\n")
	db := filepath.Join(t.TempDir(), "opsui.db")
	out, err := opsuiCmd(t, db, "")
	if err == nil || !strings.Contains(err.Error(), path+`:3: unknown action "frobnicate"`) {
		t.Fatalf("error %v\n%s", err, out)
	}
	if _, err := os.Stat(db); err == nil {
		t.Error("the store was opened before the config was read")
	}
}

// The past runs list and a replay read what the recorder wrote.
func TestConsoleReadsRecordedRuns(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "opsui.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, hosts, err := st.StartRun(ctx, store.NewRun{Kind: store.KindDeploy, Operator: "alice", Hosts: []string{"web1", "web2"}})
	if err != nil {
		t.Fatal(err)
	}
	code := 2
	if err := st.AppendOutput(ctx, hosts[1].ID, []store.Chunk{{Seq: 1, Stream: "meta", Data: []byte("== migrate\n")},
		{Seq: 2, Stream: "stderr", Data: []byte("boom\n")}}); err != nil {
		t.Fatal(err)
	}
	hosts[1].Status, hosts[1].Stage, hosts[1].ExitCode, hosts[1].ErrorClass, hosts[1].DurationMS = store.HostFailed, "migrate", &code, "command-failed", 1500
	hosts[0].Status = store.HostOK
	for _, h := range hosts {
		if err := st.UpdateRunHost(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishRun(ctx, run.ID, store.RunPartial, "1 failed, 1 ok"); err != nil {
		t.Fatal(err)
	}
	cs := &consoleSession{st: st}
	past, err := cs.pastRuns(ctx, 10)
	if err != nil || len(past) != 1 || past[0].ID != run.ID || past[0].Result != store.RunPartial || past[0].Operator != "alice" {
		t.Fatalf("past runs %+v %v", past, err)
	}
	rec, err := cs.loadRun(ctx, run.ID)
	if err != nil {
		t.Fatal(err)
	}
	var streamed [2][]ui.RecordedChunk // the output is streamed, not loaded with the run
	if err := rec.Stream(ctx, 0, func(i int, c ui.RecordedChunk) error { streamed[i] = append(streamed[i], c); return nil }); err != nil {
		t.Fatal(err)
	}
	h, out := rec.Hosts[1], streamed[1]
	if len(rec.Hosts) != 2 || h.Name != "web2" || h.Stage != "migrate" || *h.Code != 2 || h.Class != "command-failed" ||
		h.Duration != 1500*time.Millisecond || len(out) != 2 || out[0].Stream != "meta" || string(out[1].Data) != "boom\n" ||
		len(streamed[0]) != 0 || h.RecordedBytes != 5 || h.OutputBytes != 5 {
		t.Errorf("recorded run %+v, output %+v", rec, streamed)
	}
	if _, err := cs.loadRun(ctx, run.ID+1); err == nil {
		t.Error("an unknown run loaded")
	}
}
