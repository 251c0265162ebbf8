package store

import "fmt"

// ReleaseResult is how a release record (a deploy or a rollback) ended.
// Its spellings are the ones stored and shown everywhere; values read from
// the database or a flag are checked with ParseReleaseResult.
type ReleaseResult string

// Release results. They are untyped so that code still holding a result
// in a plain string keeps compiling while the type spreads.
const (
	ReleaseRunning    = "running"
	ReleaseSuccess    = "success" // every host serves it
	ReleaseFailed     = "failed"
	ReleaseAborted    = "aborted" // stopped before the end (cancelled, canary not approved, missing release)
	ReleaseBad        = "bad"     // failed and marked BAD on its hosts: never known-good
	ReleaseRolledBack = "rolled_back"
	// ReleaseInterrupted is a release whose opsui process died: its hosts
	// may be on either release; resuming its run finishes it.
	ReleaseInterrupted = "interrupted"
)

var releaseResults = []ReleaseResult{ReleaseRunning, ReleaseSuccess, ReleaseFailed, ReleaseAborted, ReleaseBad, ReleaseRolledBack,
	ReleaseInterrupted}

func (r ReleaseResult) String() string { return string(r) }

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
	RunRunning     = "running"
	RunOK          = "ok"
	RunFailed      = "failed"
	RunPartial     = "partial"
	RunCancelled   = "cancelled"
	RunInterrupted = "interrupted" // its opsui process died
	RunRolledBack  = "rolled_back" // a deploy that switched hosts back after a failure
	RunAborted     = "aborted"     // a deploy or rollback stopped before its end
	RunRefused     = "refused"     // never started: the lock was held, a host unreachable...
)

var runResults = []RunResult{RunRunning, RunOK, RunFailed, RunPartial, RunCancelled, RunInterrupted, RunRolledBack, RunAborted, RunRefused}

func (r RunResult) String() string { return string(r) }

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

// HostRolledBack is a run host switched back to its previous release after
// the deploy failed (on it or on another host).
const HostRolledBack = "rolled_back"

// HostNotReached is the step recorded for a host the run never got to (its
// batch did not start).
const HostNotReached = "not reached"
