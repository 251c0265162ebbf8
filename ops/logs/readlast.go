package logs

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/opsui/opsui/ops/remote"
)

// ReadLast reads the last n lines of every path of every source once and
// sends each to emit as a backlog line (it was in the file before it was
// read), in each file's order; a file that cannot be read sends a
// KindNotice line saying why. Hosts are read at once, a host's files one
// after the other. emit is called from several goroutines, never at once
// for one host. It returns when every file was read or ctx ended.
func ReadLast(ctx context.Context, conn remote.Connector, sources []Source, n int, opts remote.RunOptions, emit func(Line)) {
	var wg sync.WaitGroup
	for _, s := range sources {
		wg.Go(func() {
			for _, p := range s.Paths {
				if ctx.Err() != nil {
					return
				}
				cmd := "tail -n " + strconv.Itoa(n) + " -- " + remote.Quote(p)
				var sr *sudoRead
				if slices.Contains(s.Sudo, p) {
					sr = &sudoRead{host: s.Host.Name, path: p, n: n, nonce: nonce()}
					cmd = sudoReadScript(p, sr.nonce)
				}
				var stderr string
				o := opts
				o.Parallel = 1
				res, err := remote.Run(ctx, conn, []remote.Target{s.Host}, cmd, o, func(ev remote.Event) {
					switch {
					case ev.Kind == remote.EventStdout && sr != nil:
						sr.line(ev)
					case ev.Kind == remote.EventStdout:
						emit(Line{Host: s.Host.Name, File: p, Time: ev.Time, Text: ev.Line, Backlog: true, Level: DetectLevel(ev.Line)})
					case ev.Kind == remote.EventStderr:
						if stderr == "" {
							stderr = ev.Line
						}
					}
				})
				if sr != nil {
					sr.flush(emit)
					if sr.refusal != nil {
						emit(Line{Host: s.Host.Name, File: p, Kind: KindNotice, Text: "cannot read " + p + ": " + sr.refusal.Reason()})
						continue
					}
				}
				if err == nil && len(res.Hosts) == 1 && res.Hosts[0].Err != nil {
					err = unwrapHost(res.Hosts[0].Err)
				}
				if err != nil {
					why := err.Error()
					if stderr != "" {
						why = stderr
					}
					emit(Line{Host: s.Host.Name, File: p, Kind: KindNotice, Text: fmt.Sprintf("cannot read %s: %s", p, why)})
				}
			}
		})
	}
	wg.Wait()
}
