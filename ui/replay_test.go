package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
	"github.com/opsui/opsui/themes"
)

// streamedRun is a recorded run of hosts whose output comes through
// RecordedRun.Stream in many small chunks, each host's interleaved with
// the others' as pages would be: host h prints lines "h line i".
func streamedRun(hosts []string, lines int) ops.RecordedRun {
	r := ops.RecordedRun{Run: ranAt(store.Run{ID: 42, Kind: "exec", Command: "cat big.log"}, time.Now(), 0)}
	zero := 0
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, store.RunHost{Host: h, Status: "ok", ExitCode: &zero})
	}
	r.Stream = func(ctx context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
		for i := 0; i < lines; i += 7 { // chunks of 7 lines
			for h, name := range hosts {
				var b strings.Builder
				for j := i; j < min(i+7, lines); j++ {
					fmt.Fprintf(&b, "%s line %d\n", name, j)
				}
				if err := fn(h, chunk("stdout", b.String())); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return r
}

// The replay takes the streamed output in order into each host's ring and
// keeps only what the ring holds.
func TestReplayStreamsIntoTheRings(t *testing.T) {
	const lines = paneLines + 1234
	f, err := replayFeed(context.Background(), streamedRun([]string{"web1", "web2", "web3"}, lines))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"web1", "web2", "web3"} {
		p := f.byName[name]
		kept := p.lines.Last(paneLines + 1)
		if len(kept) != paneLines || p.lines.Total() != lines {
			t.Fatalf("%s: %d lines kept of %d pushed; want the last %d of %d", name, len(kept), p.lines.Total(), paneLines, lines)
		}
		for i, l := range kept {
			if want := fmt.Sprintf("%s line %d", name, lines-paneLines+i); l != want {
				t.Fatalf("%s: line %d is %q, want %q", name, i, l, want)
			}
		}
	}
	if !f.done || f.result.OK != 3 {
		t.Errorf("result %+v", f.result)
	}
	// Many hosts keep fewer lines each: the replay's memory is bounded.
	f, err = replayFeed(context.Background(), streamedRun(hostNames(200), 2500))
	if err != nil {
		t.Fatal(err)
	}
	if p := f.byName["h199"]; replayPaneLines(200) != 2000 || p.lines.Len() != 2000 || p.lines.Last(1)[0] != "h199 line 2499" {
		t.Errorf("200 hosts: %d lines kept each, last %q", p.lines.Len(), p.lines.Last(1))
	}
}

func hostNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("h%d", i)
	}
	return out
}

// A cut record shows its marker; a host whose counts say it was cut but
// whose marker is missing (its opsui died) gets a line saying so; the
// title counts the cut hosts and the past runs list says how much was
// recorded.
func TestReplayShowsTheCut(t *testing.T) {
	one := 0
	skipped := chunk("stdout", "y\n")
	skipped.Skipped = 1536
	r := recorded(ranAt(store.Run{ID: 9, Kind: "exec", Command: "cat big.log"}, time.Now(), 0),
		hostOut{store.RunHost{Host: "web1", Status: "ok", ExitCode: &one, OutputBytes: 3 << 30, RecordedBytes: 16 << 20}, []ops.OutputChunk{
			chunk("stdout", "first\npartial li"),
			chunk("meta", "… output cut at 16.0 MiB: 3.0 GiB in all, 3204448256 more bytes not recorded\n")}},
		hostOut{store.RunHost{Host: "web2", Status: "failed", ErrorClass: "interrupted", OutputBytes: 5 << 20, RecordedBytes: 1 << 20}, []ops.OutputChunk{
			chunk("meta", "== build\n"), chunk("stdout", "x\n")}},
		hostOut{store.RunHost{Host: "web3", Status: "ok", ExitCode: &one, OutputBytes: 2, RecordedBytes: 2}, []ops.OutputChunk{skipped}},
	)
	f, err := replayFeed(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.byName["web1"].lines.Last(10), "|"); got != "first|partial li|… output cut at 16.0 MiB: 3.0 GiB in all, 3204448256 more bytes not recorded" {
		t.Errorf("web1: %s", got)
	}
	if f.byName["web1"].stage != "" || f.byName["web2"].stage != "build" {
		t.Errorf("stages %q %q: only == lines are stages", f.byName["web1"].stage, f.byName["web2"].stage)
	}
	if got := strings.Join(f.byName["web2"].lines.Last(10), "|"); got != "== build|x|… 1.0 MiB of 5.0 MiB recorded" {
		t.Errorf("web2: %s", got)
	}
	if got := strings.Join(f.byName["web3"].lines.Last(10), "|"); got != "… 1.5 KiB of earlier output not shown: the replay reads each host's last 21.3 MiB|y" {
		t.Errorf("web3: %s", got)
	}
	if !strings.Contains(f.title, "run #9 (recorded") || !strings.HasSuffix(f.title, "; output of 2 hosts cut)") {
		t.Errorf("title %q", f.title)
	}
	line := pastRunLine(store.Run{ID: 9, Kind: "exec", Result: "ok", OutputBytes: 2 << 30, RecordedBytes: 32 << 20})
	if !strings.HasSuffix(line, " · 32.0 MiB of 2.0 GiB recorded") {
		t.Errorf("past run line %q", line)
	}
	if line := pastRunLine(store.Run{ID: 9, Kind: "exec", Result: "ok", OutputPruned: true}); !strings.HasSuffix(line, " · output pruned") {
		t.Errorf("past run line %q", line)
	}
}

// Opening a past run in the console streams it off the UI's goroutine;
// a read error mid-stream is shown, not a half replay.
func TestReplayOpenStreamsAndReportsErrors(t *testing.T) {
	f := sampleFleet(t)
	run := streamedRun([]string{"web1"}, 100)
	broken := run
	broken.ID = 43
	broken.Stream = func(ctx context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
		if err := fn(0, chunk("stdout", "a\n")); err != nil {
			return err
		}
		return errors.New("database is locked")
	}
	list := func(context.Context, int) ([]store.Run, error) { return []store.Run{run.Run, broken.Run}, nil }
	load := func(_ context.Context, id int64) (ops.RecordedRun, error) {
		if id == 43 {
			return broken, nil
		}
		return run, nil
	}
	a := New(Options{Theme: themes.Dark().WithoutColor(), LoadFleet: func(context.Context) (*inventory.Fleet, error) { return f, nil },
		ListRuns: list, LoadRun: load})
	a = send(t, a, a.Init()(), tea.WindowSizeMsg{Width: 140, Height: 30})
	a = press(t, a, "P", "enter")
	if view := viewText(a); a.mode != modeRun || !strings.Contains(view, "web1 line 99") {
		t.Fatalf("the streamed replay (mode %d):\n%s", a.mode, view)
	}
	a = press(t, a, "esc", "j", "enter")
	if view := viewText(a); a.mode != modeRuns || !strings.Contains(view, "read run 43: database is locked") {
		t.Errorf("a failed stream (mode %d):\n%s", a.mode, view)
	}
}
