package ops

import (
	"context"
	"slices"
	"sync"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
)

// ErrorGroup is an aggregated error with its recorded first sighting
// (nil when its host belongs to no app, or the store did not answer).
type ErrorGroup struct {
	logs.Group
	First *FirstSeen
}

// LogErrors reads the last lines lines of each file of sources once,
// groups their errors and tracebacks across hosts, records each group's
// sighting tied to its first host's release (ErrorTies; app as there) and
// returns the groups, most seen first, with their first sightings, and
// the files that could not be read. It is `opsui logs --errors`.
func (s *Service) LogErrors(ctx context.Context, f *inventory.Fleet, sources []logs.Source, lines int, app string) ([]ErrorGroup, []string, error) {
	var names []string
	for _, src := range sources {
		names = append(names, src.Host.Name)
	}
	buf := logs.NewBuffer(names, 1) // only its aggregation is read
	var mu sync.Mutex
	var unread []string
	logs.ReadLast(ctx, s.Conn, sources, lines, remote.RunOptions{}, func(l logs.Line) {
		if l.Kind == logs.KindNotice {
			mu.Lock()
			unread = append(unread, l.Host+": "+l.Text)
			mu.Unlock()
		}
		buf.Add(l)
	})
	slices.Sort(unread)
	if err := ctx.Err(); err != nil {
		return nil, unread, err
	}
	buf.Flush()
	groups := buf.Top(0)
	first, err := s.NewErrorTies(f, app).Tie(ctx, groups)
	out := make([]ErrorGroup, len(groups))
	for i, g := range groups {
		out[i] = ErrorGroup{Group: g}
		if fs, ok := first[g.Key]; ok {
			out[i].First = &fs
		}
	}
	return out, unread, err
}
