package run

import (
	"fmt"
	"testing"

	"github.com/opsui/opsui/ops/remote"
)

// BenchmarkFeedEventGrouped is the engine's side of a line: its pane's
// ring, and with grouping its output hash and group move, on 200 hosts
// printing alike (the worst case for the move: one large group).
func BenchmarkFeedEventGrouped(b *testing.B) {
	for _, grouped := range []bool{false, true} {
		b.Run(fmt.Sprintf("grouped=%v", grouped), func(b *testing.B) {
			hosts := make([]string, 200)
			for i := range hosts {
				hosts[i] = fmt.Sprintf("web%03d", i)
			}
			f := NewFeed(1, "apt-get -y upgrade", hosts)
			if grouped {
				f.Grouping()
			}
			line := "Unpacking libssl3:amd64 (3.0.15-1~deb12u1) over (3.0.13-1~deb12u1) ..."
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				f.Event(remote.Event{Host: hosts[i%len(hosts)], Kind: remote.EventStdout, Line: line})
			}
		})
	}
}
