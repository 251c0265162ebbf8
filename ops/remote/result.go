package remote

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// NewResult builds the Result of a run from its hosts' outcomes, as Run
// does; pipelines that run many commands per host report through it.
func NewResult(hosts []HostResult, d time.Duration) Result { return newResult(hosts, d) }

// newResult totals the hosts' outcomes.
func newResult(hosts []HostResult, d time.Duration) Result {
	r := Result{Hosts: hosts, Classes: map[ErrorClass]int{}, Duration: d}
	for _, h := range hosts {
		switch h.Status {
		case StatusOK:
			r.OK++
		case StatusCancelled:
			r.Cancelled++
		default:
			r.Failed++
		}
		if h.Class != ClassNone {
			r.Classes[h.Class]++
		}
	}
	return r
}

// Slowest returns the host that took longest, if there is any host.
func (r Result) Slowest() (HostResult, bool) {
	var slow HostResult
	for i, h := range r.Hosts {
		if i == 0 || h.Duration > slow.Duration {
			slow = h
		}
	}
	return slow, len(r.Hosts) > 0
}

// Err returns nil when every host succeeded, else the hosts' errors joined.
func (r Result) Err() error {
	var errs []error
	for _, h := range r.Hosts {
		if h.Status != StatusOK {
			errs = append(errs, h.Err)
		}
	}
	return errors.Join(errs...)
}

// Summary describes the run in one line, failures first, e.g.
// "2 failed (1 timeout, 1 command-failed), 3 ok; slowest web3 2.1s".
func (r Result) Summary() string {
	var parts []string
	if bad := r.Failed + r.Cancelled; bad > 0 {
		classes := slices.Collect(maps.Keys(r.Classes))
		slices.SortFunc(classes, func(a, b ErrorClass) int {
			if c := r.Classes[b] - r.Classes[a]; c != 0 {
				return c
			}
			return strings.Compare(string(a), string(b))
		})
		var byClass []string
		for _, c := range classes {
			byClass = append(byClass, fmt.Sprintf("%d %s", r.Classes[c], c))
		}
		parts = append(parts, fmt.Sprintf("%d failed (%s)", bad, strings.Join(byClass, ", ")))
	}
	parts = append(parts, fmt.Sprintf("%d ok", r.OK))
	s := strings.Join(parts, ", ")
	if h, ok := r.Slowest(); ok {
		s += fmt.Sprintf("; slowest %s %s", h.Host, h.Duration.Round(time.Millisecond))
	}
	return s
}
