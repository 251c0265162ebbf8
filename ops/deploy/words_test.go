package deploy

import (
	"errors"
	"testing"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// TestHostWords: every screen says a host's end the same way: against the
// step that failed, the step said once, a cancellation without the
// engine's words, a host never reached as such.
func TestHostWords(t *testing.T) {
	for _, tc := range []struct {
		status    store.HostStatus
		step, err string
		want      string
	}{
		{store.HostOK, "cleanup", "", "ok"},
		{store.HostFailed, "health", "health: http://web1/ answered HTTP 500 after 1 try: broken", "failed at health: http://web1/ answered HTTP 500 after 1 try: broken"},
		{store.HostFailed, "health", "health: answered HTTP 500; rolled back to R1: healthy", "failed at health: answered HTTP 500; rolled back to R1: healthy"},
		// The live outcome of a host that failed and was switched back.
		{store.HostRolledBack, "health", "health: answered HTTP 500; rolled back to R1: healthy", "failed at health: answered HTTP 500; rolled back to R1: healthy"},
		{store.HostRolledBack, "", "switched back to R1: web2 failed after the switch; healthy", "rolled back to R1: web2 failed after the switch; healthy"},
		{store.HostRolledBack, "", "", "rolled back"},
		{store.HostSkipped, store.HostNotReached, "not reached: the deploy stopped before this host's batch", "not reached"},
		{store.HostCancelled, "collectstatic", "not reached: the deploy stopped before this host's batch", "not reached"},
		{store.HostCancelled, "migrate", "migrate: context canceled", "cancelled at migrate"},
		{store.HostCancelled, "", "cancelled", "cancelled before it started"},
		{store.HostFailed, "", "exit status 3", "failed: exit status 3"},
		{store.HostFailed, "health", "", "failed at health"},
	} {
		if got := HostWords(tc.status, tc.step, tc.err); got != tc.want {
			t.Errorf("HostWords(%s, %q, %q) = %q, want %q", tc.status, tc.step, tc.err, got, tc.want)
		}
	}
}

// TestOutcomeWords: the one line of a deploy's end names the result in
// words and where it failed, with plurals right.
func TestOutcomeWords(t *testing.T) {
	fail := errors.New("health: answered HTTP 500")
	for _, tc := range []struct {
		o    Outcome
		want string
	}{
		{Outcome{Result: store.ReleaseSuccess, Hosts: []HostOutcome{{Host: "web1", Status: HostOK}}}, "success on 1 host"},
		{Outcome{Result: store.ReleaseRolledBack, Hosts: []HostOutcome{
			{Host: "web1", Status: HostRolledBack, Step: "health", Err: fail},
			{Host: "web2", Status: HostRolledBack, Step: "health", Err: fail},
			{Host: "web3", Status: HostRolledBack},
			{Host: "web4", Status: HostSkipped, Step: store.HostNotReached}}},
			"rolled back: web1, web2 failed at health; 1 host not reached"},
		{Outcome{Result: store.ReleaseAborted, Hosts: []HostOutcome{{Host: "web1", Status: HostCancelled, Step: "migrate"}}}, "aborted: web1 cancelled at migrate"},
	} {
		if got := tc.o.Words(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.o, got, tc.want)
		}
	}
}

// TestBackErrorSaysBoth: the record of a host switched back keeps its
// failure and what the switch back left, once each.
func TestBackErrorSaysBoth(t *testing.T) {
	own := &backError{err: errors.New("health: answered HTTP 500"), back: "rolled back to R1: healthy", own: true}
	if got := own.Error(); got != "health: answered HTTP 500; rolled back to R1: healthy" {
		t.Errorf("own failure: %q", got)
	}
	other := &backError{err: errors.New(switchedBackPrefix + "R1: web2 failed after the switch"), back: "rolled back to R1: still unhealthy"}
	if got := other.Error(); got != "switched back to R1: web2 failed after the switch; still unhealthy" {
		t.Errorf("switched back for another: %q", got)
	}
}

// TestHostWordsNotReached: a host whose first step failed on the
// connection, or was cancelled while connecting, was never reached, and
// says so instead of "failed at inspect" or "cancelled at inspect".
func TestHostWordsNotReached(t *testing.T) {
	for _, tc := range []struct {
		status store.HostStatus
		class  remote.ErrorClass
		err    string
		want   string
	}{
		{store.HostFailed, remote.ClassUnreachable, "inspect: dial tcp 10.0.0.7:22: connect: connection refused", "not reached: unreachable: dial tcp 10.0.0.7:22: connect: connection refused"},
		{store.HostFailed, remote.ClassTimeout, "inspect: timeout after 10s", "not reached: timeout after 10s"},
		{store.HostCancelled, remote.ClassCancelled, "inspect: context canceled", "not reached: cancelled while connecting"},
		// A host that answered and then failed its inspection was reached.
		{store.HostFailed, remote.ClassExit, "inspect: deploy_to is not writable", "failed at inspect: deploy_to is not writable"},
	} {
		if got := HostWordsClass(tc.status, "inspect", tc.class, tc.err); got != tc.want {
			t.Errorf("HostWordsClass(%s, inspect, %s, %q) = %q, want %q", tc.status, tc.class, tc.err, got, tc.want)
		}
	}
	if got := (HostOutcome{Status: HostFailed, Step: "inspect", Class: remote.ClassAuth, Err: errors.New("inspect: no key accepted")}).Words(); got != "not reached: auth-failed: no key accepted" {
		t.Errorf("a live outcome: %q", got)
	}
}
