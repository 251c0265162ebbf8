// Package uitest holds what the console's packages' tests share: key
// presses by name and recorded runs held in memory. Only tests import it.
package uitest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/store"
)

// Keys turns "j", "space", "enter", "/" ... into key presses.
func Keys(names ...string) []tea.Msg {
	special := map[string]tea.Key{
		"space": {Code: tea.KeySpace, Text: " "}, "enter": {Code: tea.KeyEnter}, "esc": {Code: tea.KeyEscape},
		"down": {Code: tea.KeyDown}, "up": {Code: tea.KeyUp}, "ctrl+c": {Code: 'c', Mod: tea.ModCtrl},
		"ctrl+r": {Code: 'r', Mod: tea.ModCtrl}, "pgup": {Code: tea.KeyPgUp}, "pgdown": {Code: tea.KeyPgDown},
	}
	var out []tea.Msg
	for _, n := range names {
		if k, ok := special[n]; ok {
			out = append(out, tea.KeyPressMsg(k))
			continue
		}
		for _, r := range n {
			out = append(out, tea.KeyPressMsg(tea.Key{Code: r, Text: string(r)}))
		}
	}
	return out
}

// RanAt is r started at at, finished took later (still running when took
// is zero).
func RanAt(r store.Run, at time.Time, took time.Duration) store.Run {
	r.StartedAt = store.MillisOf(at)
	if took > 0 {
		r.FinishedAt = store.MillisOf(at.Add(took))
	}
	return r
}

// HostOut is a recorded host with its output.
type HostOut struct {
	store.RunHost
	Out []ops.OutputChunk
}

// Host is h recorded with its output.
func Host(h store.RunHost, out []ops.OutputChunk) HostOut { return HostOut{RunHost: h, Out: out} }

// Recorded is run with hosts, whose Stream gives each host's output in
// order (the whole of it, whatever the tail asked).
func Recorded(run store.Run, hosts ...HostOut) ops.RecordedRun {
	r := ops.RecordedRun{Run: run}
	for _, h := range hosts {
		r.Hosts = append(r.Hosts, h.RunHost)
	}
	r.Stream = func(ctx context.Context, _ int64, fn func(int, ops.OutputChunk) error) error {
		for i, h := range hosts {
			for _, c := range h.Out {
				if err := fn(i, c); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return r
}

// Chunk is a piece of recorded output of stream.
func Chunk(stream, data string) ops.OutputChunk {
	return ops.OutputChunk{Chunk: store.Chunk{Stream: stream, Data: []byte(data)}}
}

// StreamedRun is a recorded run of hosts whose output comes through
// RecordedRun.Stream in many small chunks, each host's interleaved with
// the others' as pages would be: host h prints lines "h line i".
func StreamedRun(hosts []string, lines int) ops.RecordedRun {
	r := ops.RecordedRun{Run: RanAt(store.Run{ID: 42, Kind: "exec", Command: "cat big.log"}, time.Now(), 0)}
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
				if err := fn(h, Chunk("stdout", b.String())); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return r
}

// Golden compares got with testdata/golden/name.golden in the test's
// package, or rewrites the file when update (the package's -update flag).
func Golden(t testing.TB, name, got string, update bool) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run Golden -update creates it)", err)
	}
	if string(want) == got {
		return
	}
	wl, gl := strings.Split(string(want), "\n"), strings.Split(got, "\n")
	var diff strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 8; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&diff, "line %d:\n  want %s\n  got  %s\n", i+1, strconv.Quote(w), strconv.Quote(g))
			shown++
		}
	}
	if len(wl) != len(gl) {
		fmt.Fprintf(&diff, "want %d lines, got %d\n", len(wl), len(gl))
	}
	t.Errorf("render differs from %s (if the change is intended: go test -run Golden -update)\n%s", path, diff.String())
}
