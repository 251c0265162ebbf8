package store

import (
	"fmt"
	"strings"
)

// ReleaseResult is how a release record (a deploy or a rollback) ended.
// Its spellings are the ones stored and shown everywhere; values read from
// a flag or a file are checked with ParseReleaseResult.
type ReleaseResult string

// Release results.
const (
	ReleaseRunning    ReleaseResult = "running"
	ReleaseSuccess    ReleaseResult = "success" // every host serves it
	ReleaseFailed     ReleaseResult = "failed"
	ReleaseAborted    ReleaseResult = "aborted" // stopped before the end (cancelled, canary not approved, missing release)
	ReleaseBad        ReleaseResult = "bad"     // failed and marked BAD on its hosts: never known-good
	ReleaseRolledBack ReleaseResult = "rolled_back"
	// ReleaseInterrupted is a release whose opsui process died: its hosts
	// may be on either release; resuming its run finishes it.
	ReleaseInterrupted ReleaseResult = "interrupted"
)

var releaseResults = []ReleaseResult{ReleaseRunning, ReleaseSuccess, ReleaseFailed, ReleaseAborted, ReleaseBad, ReleaseRolledBack,
	ReleaseInterrupted}

func (r ReleaseResult) String() string { return string(r) }

// Words is the result as screens and reports say it: "rolled back", not
// the stored "rolled_back".
func (r ReleaseResult) Words() string { return words(string(r)) }

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

// Failed reports whether a release ended badly: it did not go live on
// every host as asked (failed, bad, aborted, rolled back, interrupted).
// Running and success are not failures.
func (r ReleaseResult) Failed() bool {
	switch r {
	case ReleaseFailed, ReleaseBad, ReleaseAborted, ReleaseRolledBack, ReleaseInterrupted:
		return true
	}
	return false
}

// ParseReleaseResult checks that s is a release result.
func ParseReleaseResult(s string) (ReleaseResult, error) {
	for _, r := range releaseResults {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown release result %q", s)
}

// RunResult is how a run (anything opsui did to the fleet) ended.
type RunResult string

// Run results. A deploy's or rollback's run ends with the same word as its
// release (RunOfRelease), so the past runs and the releases agree.
const (
	RunRunning     RunResult = "running"
	RunOK          RunResult = "ok"
	RunFailed      RunResult = "failed"
	RunPartial     RunResult = "partial"
	RunCancelled   RunResult = "cancelled"
	RunInterrupted RunResult = "interrupted" // its opsui process died
	RunRolledBack  RunResult = "rolled_back" // a deploy that switched hosts back after a failure
	RunAborted     RunResult = "aborted"     // a deploy or rollback stopped before its end
	RunRefused     RunResult = "refused"     // never started: the lock was held, a host unreachable...
)

var runResults = []RunResult{RunRunning, RunOK, RunFailed, RunPartial, RunCancelled, RunInterrupted, RunRolledBack, RunAborted, RunRefused}

func (r RunResult) String() string { return string(r) }

// Words is the result as screens and reports say it ("rolled back").
func (r RunResult) Words() string { return words(string(r)) }

// Failed reports whether a run ended badly: some host failed (failed,
// partial), the run was refused, or a pipeline stopped or switched back
// (aborted, rolled back). A run the operator cancelled, or whose process
// died, is not a failure of the fleet.
func (r RunResult) Failed() bool {
	switch r {
	case RunFailed, RunPartial, RunRolledBack, RunAborted, RunRefused:
		return true
	}
	return false
}

// ParseRunResult checks that s is a run result.
func ParseRunResult(s string) (RunResult, error) {
	for _, r := range runResults {
		if string(r) == s {
			return r, nil
		}
	}
	return "", fmt.Errorf("unknown run result %q", s)
}

// RunOfRelease is the result of the run that made a release ending with r:
// the same word, except that a release's success is a run's ok.
func RunOfRelease(r ReleaseResult) RunResult {
	switch r {
	case ReleaseSuccess:
		return RunOK
	case ReleaseFailed, ReleaseBad:
		return RunFailed
	case ReleaseRolledBack:
		return RunRolledBack
	case ReleaseAborted:
		return RunAborted
	case ReleaseInterrupted:
		return RunInterrupted
	}
	return RunRunning
}

// HostStatus is where one host's part in a run is, or how it ended.
type HostStatus string

// Host statuses within a run.
const (
	HostQueued     HostStatus = "queued"
	HostConnecting HostStatus = "connecting"
	HostRunning    HostStatus = "running"
	HostOK         HostStatus = "ok"
	HostFailed     HostStatus = "failed"
	HostCancelled  HostStatus = "cancelled"
	HostSkipped    HostStatus = "skipped" // a pipeline's host never reached
	// HostRolledBack is a run host switched back to its previous release
	// after the deploy failed (on it or on another host).
	HostRolledBack HostStatus = "rolled_back"
)

var hostStatuses = []HostStatus{HostQueued, HostConnecting, HostRunning, HostOK, HostFailed, HostCancelled, HostSkipped, HostRolledBack}

func (s HostStatus) String() string { return string(s) }

// Words is the status as screens and reports say it ("rolled back").
func (s HostStatus) Words() string { return words(string(s)) }

// Failed reports whether the host's part failed on its own. A host
// switched back, cancelled or never reached did not.
func (s HostStatus) Failed() bool { return s == HostFailed }

// ParseHostStatus checks that s is a run host status.
func ParseHostStatus(s string) (HostStatus, error) {
	for _, h := range hostStatuses {
		if string(h) == s {
			return h, nil
		}
	}
	return "", fmt.Errorf("unknown host status %q", s)
}

// HostNotReached is the step recorded for a host the run never got to (its
// batch did not start).
const HostNotReached = "not reached"
