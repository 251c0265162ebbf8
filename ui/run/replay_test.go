package run

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

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
// title counts the cut hosts.
func TestReplayShowsTheCut(t *testing.T) {
	one := 0
	skipped := chunk("stdout", "y\n")
	skipped.Skipped = 1536
	r := recorded(ranAt(store.Run{ID: 9, Kind: "exec", Command: "cat big.log"}, time.Now(), 0),
		hostOut(store.RunHost{Host: "web1", Status: "ok", ExitCode: &one, OutputBytes: 3 << 30, RecordedBytes: 16 << 20}, []ops.OutputChunk{
			chunk("stdout", "first\npartial li"),
			chunk("meta", "… output cut at 16.0 MiB: 3.0 GiB in all, 3204448256 more bytes not recorded\n")}),
		hostOut(store.RunHost{Host: "web2", Status: "failed", ErrorClass: "interrupted", OutputBytes: 5 << 20, RecordedBytes: 1 << 20}, []ops.OutputChunk{
			chunk("meta", "== build\n"), chunk("stdout", "x\n")}),
		hostOut(store.RunHost{Host: "web3", Status: "ok", ExitCode: &one, OutputBytes: 2, RecordedBytes: 2}, []ops.OutputChunk{skipped}),
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
	if !strings.Contains(f.title, "run 9 (recorded") || !strings.HasSuffix(f.title, "; output of 2 hosts cut)") {
		t.Errorf("title %q", f.title)
	}
}
