package ops

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/logs"
	"github.com/opsui/opsui/ops/remote"
)

// LogsQuery says which files to follow: Files on every host when given,
// else the logs the inventory lists for the hosts' roles (Role's only,
// when set).
type LogsQuery struct {
	Role  string
	Files []string
}

// ConsoleSinceLines is how many existing lines of each file the console's
// logs view starts with.
const ConsoleSinceLines = 100

// LogSources returns what to follow on each of hosts, and the names of
// the hosts left out for having no log file. None at all is an
// *InvalidError.
func (s *Service) LogSources(f *inventory.Fleet, hosts []inventory.Host, q LogsQuery) ([]logs.Source, []string, error) {
	var sources []logs.Source
	var without []string
	for _, h := range hosts {
		paths := slices.Clone(q.Files)
		if len(paths) == 0 {
			for _, r := range h.Roles {
				if q.Role != "" && r != q.Role {
					continue
				}
				for _, p := range f.SettingsFor(h, r).Logs {
					if !slices.Contains(paths, p) {
						paths = append(paths, p)
					}
				}
			}
		}
		if len(paths) == 0 {
			without = append(without, h.Name)
			continue
		}
		t, err := remote.ResolveTarget(h, s.SSH)
		if err != nil {
			return nil, nil, err
		}
		sources = append(sources, logs.Source{Host: t, Paths: paths, Sudo: SudoLogs(f, h, paths)})
	}
	if len(sources) == 0 {
		return nil, without, &InvalidError{fmt.Errorf("no log files for %s: set the role's logs in the inventory or give --file", strings.Join(without, ", "))}
	}
	return sources, without, nil
}

// TailLogs follows sources on the service's connector until ctx ends
// (logs.Tail says how a host that drops is retried and marked).
func (s *Service) TailLogs(ctx context.Context, sources []logs.Source, opts logs.Options, emit func(logs.Line)) error {
	return logs.Tail(ctx, s.Conn, sources, opts, emit)
}

// FollowLogs follows the role logs of hosts of f, starting with the last
// ConsoleSinceLines lines of each file, until ctx ends: the console's logs
// view.
func (s *Service) FollowLogs(ctx context.Context, f *inventory.Fleet, hosts []inventory.Host, emit func(logs.Line)) error {
	sources, _, err := s.LogSources(f, hosts, LogsQuery{})
	if err != nil {
		return err
	}
	return s.TailLogs(ctx, sources, logs.Options{SinceLines: ConsoleSinceLines}, emit)
}

// SudoLogs returns those of paths that a role of h reads through sudo (its
// logs_sudo: true): a --file naming such a log is read the same way.
func SudoLogs(f *inventory.Fleet, h inventory.Host, paths []string) []string {
	var out []string
	for _, r := range h.Roles {
		set := f.SettingsFor(h, r)
		if !set.LogsSudo() {
			continue
		}
		for _, p := range set.Logs {
			if slices.Contains(paths, p) && !slices.Contains(out, p) {
				out = append(out, p)
			}
		}
	}
	return out
}
