package ops

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/opsui/opsui/internal/testenv"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestFollowRun: bob follows the run alice's recorder writes, through a
// store connection of his own (another opsui): from the chunk after the
// last he had, he gets every new line once and in order, each host's
// state and the batch as they change, and a last update that says how
// the run ended. On PostgreSQL the poll is an hour, so only the
// notifications of alice's writes wake him; SQLite polls.
func TestFollowRun(t *testing.T) {
	onSharedStore(t, func(t *testing.T, ctx context.Context, backend string, open func() *store.Store, poll time.Duration) {
		aliceStore, bobStore := open(), open()
		rec, err := record.StartRecorder(ctx, aliceStore, store.NewRun{Kind: store.KindExec, Operator: "alice@lap", Command: "work",
			Hosts: []string{"web1", "web2"}})
		if err != nil {
			t.Fatal(err)
		}
		say := func(host string, from, to int) {
			for i := from; i <= to; i++ {
				line := fmt.Sprintf("%s line %d", host, i)
				rec.Event(remote.Event{Host: host, Kind: remote.EventStdout, Line: line, Raw: []byte(line + "\n"), Time: time.Now()})
			}
		}
		rec.Event(remote.Event{Host: "web1", Kind: remote.EventStarted, Time: time.Now()})
		say("web1", 1, 3)
		// bob had web1's output up to here (a replay of the run so far).
		var had int64
		testenv.WaitFor(t, time.Minute, "web1's first lines recorded", func() bool {
			st, err := bobStore.RunState(ctx, rec.RunID())
			if err != nil {
				t.Fatal(err)
			}
			had = st.Hosts[0].LastSeq
			return had > 0
		})

		bob := &Service{Store: bobStore, Operator: "bob@box"}
		updates := make(chan RunUpdate, 1000)
		done := make(chan error, 1)
		go func() {
			done <- bob.FollowRun(ctx, rec.RunID(), []int64{had}, poll, func(u RunUpdate) error {
				updates <- u
				return nil
			})
		}()
		lines := map[int][]string{}
		var last RunUpdate
		wait := func(what string, cond func() bool) {
			t.Helper()
			for !cond() {
				select {
				case u := <-updates:
					for _, c := range u.Chunks {
						lines[c.Host] = append(lines[c.Host], strings.Split(strings.TrimSuffix(string(c.Data), "\n"), "\n")...)
					}
					last = u
				case <-time.After(time.Minute):
					t.Fatalf("bob never saw %s; last update %+v, lines %v", what, last, lines)
				}
			}
		}
		wait("web1 running", func() bool { return len(last.Hosts) == 2 && last.Hosts[0].Status == store.HostRunning })
		if len(lines[0]) != 0 {
			t.Errorf("web1's lines bob had came again: %q", lines[0])
		}
		say("web2", 1, 2)
		say("web1", 4, 5)
		wait("the new lines", func() bool { return len(lines[0]) >= 2 && len(lines[1]) >= 2 })
		rec.Batch(2, 3)
		wait("batch 2/3", func() bool { return last.Batch == 2 && last.Batches == 3 })
		rec.Event(remote.Event{Host: "web2", Kind: remote.EventExited, Code: 3, Class: remote.ClassExit, Time: time.Now()})
		wait("web2 failed", func() bool { return last.Hosts[1].Status == store.HostFailed })
		say("web1", 6, 6)
		rec.Event(remote.Event{Host: "web1", Kind: remote.EventExited, Time: time.Now()})
		res := remote.NewResult([]remote.HostResult{{Host: "web1", Status: remote.StatusOK},
			{Host: "web2", Status: remote.StatusFailed, Code: 3, Class: remote.ClassExit}}, time.Second)
		if err := rec.Finish(ctx, res); err != nil {
			t.Fatal(err)
		}
		wait("the end", func() bool { return last.Ended() })
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("FollowRun: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("FollowRun went on after the run ended")
		}
		if got := strings.Join(lines[0], "|"); got != "web1 line 4|web1 line 5|web1 line 6" {
			t.Errorf("web1's new lines: %s", got)
		}
		if got := strings.Join(lines[1], "|"); got != "web2 line 1|web2 line 2" {
			t.Errorf("web2's lines: %s", got)
		}
		if last.End != "partial" || last.Run.Result != store.RunPartial || last.Hosts[0].Status != store.HostOK {
			t.Errorf("the last update: end %q, result %s, web1 %s", last.End, last.Run.Result, last.Hosts[0].Status)
		}
	})
}
