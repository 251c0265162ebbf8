package ops

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/opsui/opsui/ops/deploy"
	"github.com/opsui/opsui/store"
)

// Following a run another opsui is recording (a teammate's deploy on a
// shared store): its record is read as it grows, each host's output from
// the chunk after the last one read, until the run ends.
const (
	// FollowPoll is how often a followed run is read again without a
	// notification: SQLite's only way, PostgreSQL's fallback.
	FollowPoll = 500 * time.Millisecond
	// followGap is the least time between two reads: on PostgreSQL every
	// write of the run notifies, and 200 hosts write hundreds a second.
	followGap = 100 * time.Millisecond
	// followReadBytes bounds the output one update carries; the rest
	// comes in the next one, read at once.
	followReadBytes = 8 << 20
)

// HostChunk is a recorded chunk of the output of a run's host: Host is
// the host's index in the run's hosts.
type HostChunk struct {
	Host int
	store.Chunk
}

// RunUpdate is a followed run's record as it stands, with what came
// since the last update.
type RunUpdate struct {
	Run            store.Run
	Batch, Batches int             // the batch being switched (0 of 0: none yet)
	Hosts          []store.RunHost // every host's row, in the run's order
	Chunks         []HostChunk     // the output written since, each host's in order
	// End, in the last update only (Run.Result is no longer running),
	// says how the run ended in the words its operator read: a deploy's
	// "release R: success on 2 hosts", else the run's result.
	End string
}

// Ended reports whether this is the run's last update.
func (u RunUpdate) Ended() bool { return u.Run.Result != store.RunRunning }

// FollowRun follows run id from its record until it ends or ctx does:
// fn gets an update whenever the record changed (first at once), each
// host's chunks after after[i] (the seq of the last chunk already read;
// missing or 0: from the start), each once and in order, and the last
// update once the run ended. An error from fn stops it. On PostgreSQL
// every write of the run wakes it; on SQLite it reads every poll (0:
// FollowPoll). A run left running by an opsui of this machine that died
// is marked interrupted, and so ends.
func (s *Service) FollowRun(ctx context.Context, id int64, after []int64, poll time.Duration, fn func(RunUpdate) error) error {
	if poll <= 0 {
		poll = FollowPoll
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wake := s.Store.WatchRunOutput(ctx, id, poll)
	f := follower{svc: s, id: id, after: slices.Clone(after)}
	for {
		more, err := f.read(ctx, fn)
		if err != nil || f.ended {
			return err
		}
		if more {
			continue // output is waiting: no reason to wait for a signal
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
		select { // a breath between reads, however often the server notifies
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followGap):
		}
	}
}

// follower is one FollowRun's cursors and what it last sent.
type follower struct {
	svc   *Service
	id    int64
	after []int64 // each host's last seq read
	last  *RunUpdate
	ended bool
}

// read reads the run's state and what is new of its output (at most
// followReadBytes: more says there is more), and sends an update when
// anything changed.
func (f *follower) read(ctx context.Context, fn func(RunUpdate) error) (more bool, err error) {
	st, err := f.svc.Store.RunState(ctx, f.id)
	if err != nil {
		return false, err
	}
	if st.Run.Result == store.RunRunning && f.ownerGone(st.Run) {
		if _, err := f.svc.Store.ReapStaleRuns(ctx); err != nil {
			return false, err
		}
		if st, err = f.svc.Store.RunState(ctx, f.id); err != nil {
			return false, err
		}
	}
	for len(f.after) < len(st.Hosts) {
		f.after = append(f.after, 0)
	}
	u := RunUpdate{Run: st.Run, Batch: st.Batch, Batches: st.Batches, Hosts: make([]store.RunHost, len(st.Hosts))}
	read := 0
	for i, h := range st.Hosts {
		u.Hosts[i] = h.RunHost
		for f.after[i] < h.LastSeq && read < followReadBytes {
			page, err := f.svc.Store.OutputPage(ctx, h.ID, f.after[i], store.OutputPageChunks)
			if err != nil {
				return false, fmt.Errorf("follow run %d, host %s: %w", f.id, h.Host, err)
			}
			if len(page) == 0 {
				break // pruned meanwhile
			}
			for _, c := range page {
				u.Chunks = append(u.Chunks, HostChunk{Host: i, Chunk: c})
				read += len(c.Data)
			}
			f.after[i] = page[len(page)-1].Seq
		}
		more = more || f.after[i] < h.LastSeq
	}
	if u.Ended() && !more {
		f.ended = true
		if u.End, err = f.svc.endWords(ctx, st); err != nil {
			return false, err
		}
	} else if u.Ended() {
		u.Run.Result = store.RunRunning // the last update comes with the last chunks
	}
	if f.last != nil && len(u.Chunks) == 0 && !f.ended && sameState(*f.last, u) {
		return more, nil
	}
	f.last = &u
	return more, fn(u)
}

// ownerGone reports whether the opsui recording r ran on this machine
// and is gone: only here can a pid be judged.
func (f *follower) ownerGone(r store.Run) bool {
	return r.Machine != "" && r.Machine == store.Machine() && !store.ProcessAlive(r.PID)
}

// sameState reports whether two updates show the same run and hosts.
func sameState(a, b RunUpdate) bool {
	if a.Run.Result != b.Run.Result || a.Batch != b.Batch || a.Batches != b.Batches || len(a.Hosts) != len(b.Hosts) {
		return false
	}
	for i, h := range a.Hosts {
		o := b.Hosts[i]
		if h.Status != o.Status || h.Stage != o.Stage || h.FinishedAt != o.FinishedAt || h.Error != o.Error ||
			h.OutputBytes != o.OutputBytes || h.RecordedBytes != o.RecordedBytes || (h.ExitCode == nil) != (o.ExitCode == nil) ||
			(h.ExitCode != nil && *h.ExitCode != *o.ExitCode) {
			return false
		}
	}
	return true
}

// endWords says how a run ended as its operator read it: a deploy's,
// rollback's or migration's release and its result ("release R: success
// on 2 hosts", as the CLI prints it), else the run's result in words.
func (s *Service) endWords(ctx context.Context, st store.RunState) (string, error) {
	rel, err := s.Store.ReleaseOfRun(ctx, st.Run.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return st.Run.Result.Words(), nil
	case err != nil:
		return "", err
	}
	words := rel.Result.Words()
	if rel.Result == store.ReleaseSuccess {
		words += " on " + deploy.Plural(len(rel.HostList()), "host", "hosts")
	}
	return fmt.Sprintf("release %s: %s", rel.ReleaseID, words), nil
}
