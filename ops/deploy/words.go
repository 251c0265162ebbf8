package deploy

import (
	"fmt"
	"strings"

	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

// The words of a host's end, shared by the run's summary, the run view,
// compare, `opsui releases` and past runs: a failure is said against the
// step that failed (not the rollback that followed), with the reason the
// host gave, and what the switch back left.

// HostWords says how a host's part in a run ended, from its status, the
// step it failed at and its error as recorded or emitted:
//
//	ok
//	failed at health: http://web1/health/ answered HTTP 500 after 30 tries: broken; rolled back to R1: healthy
//	rolled back to R1: web2 failed after the switch; healthy
//	not reached
//	cancelled at migrate
//
// The step is said once (an error that begins with it loses it), and the
// engine's names for a cancellation are not shown.
func HostWords(status store.HostStatus, step, err string) string {
	return HostWordsClass(status, step, remote.ClassNone, err)
}

// HostWordsClass is HostWords knowing the error's class: a host that
// failed or was cancelled while it was first reached (the inspect step)
// over a connection that never came up was not reached at all:
//
//	not reached: unreachable: dial tcp 10.0.0.7:22: connect: connection refused
//	not reached: cancelled while connecting
func HostWordsClass(status store.HostStatus, step string, class remote.ErrorClass, err string) string {
	if w, ok := notReachedWords(status, step, class, err); ok {
		return w
	}
	err = strings.TrimSpace(err)
	if step != "" {
		err = strings.TrimPrefix(err, step+": ")
	}
	if err == "context canceled" || err == "cancelled" || err == string(store.HostCancelled) {
		err = ""
	}
	at := ""
	if step != "" && step != rolledBackStep && step != store.HostNotReached {
		at = " at " + step
	}
	switch {
	case status == store.HostOK:
		return "ok"
	case status == store.HostRolledBack && at != "":
		// Failed on its own, then switched back: the failure is the news.
		return withReason("failed"+at, err)
	}
	switch NotFailedWord(status, step, err) {
	case store.HostNotReached:
		return store.HostNotReached
	case rolledBackStep:
		if rest, ok := strings.CutPrefix(err, switchedBackPrefix); ok {
			return "rolled back to " + rest
		}
		return withReason(rolledBackStep, err)
	}
	if status == store.HostCancelled {
		if at == "" {
			return withReason("cancelled before it started", err)
		}
		return withReason("cancelled"+at, err)
	}
	return withReason("failed"+at, err)
}

// notReachedWords says a host was never reached when its first step
// failed on the connection, or was cancelled before it answered.
func notReachedWords(status store.HostStatus, step string, class remote.ErrorClass, err string) (string, bool) {
	if step != stepInspect || status == store.HostOK {
		return "", false
	}
	err = strings.TrimPrefix(strings.TrimSpace(err), step+": ")
	if strings.HasPrefix(err, store.HostNotReached) {
		return store.HostNotReached, true // the run ended before it (a refused run)
	}
	switch class {
	case remote.ClassUnreachable, remote.ClassAuth, remote.ClassHostKeyUnknown, remote.ClassHostKeyChanged, remote.ClassTimeout:
		if err == "" || strings.HasPrefix(err, string(class)) {
			return withReason(store.HostNotReached, err), true
		}
		return withReason(store.HostNotReached+": "+string(class), err), true
	case remote.ClassCancelled:
		return store.HostNotReached + ": cancelled while connecting", true
	}
	return "", false
}

// stepInspect is a pipeline's first step on a host: connecting and
// reading its deploy tree.
const stepInspect = "inspect"

func withReason(what, reason string) string {
	if reason == "" {
		return what
	}
	return what + ": " + reason
}

// Words says how the host's part ended (HostWords).
func (h HostOutcome) Words() string {
	err := ""
	if h.Err != nil {
		err = h.Err.Error()
	}
	return HostWordsClass(h.Status, h.Step, h.Class, err)
}

// Words is the outcome in one line: the result, and where it failed.
//
//	rolled back: web1, web2 failed at health
//	failed: web2 failed at migrate; 1 host not reached
func (o *Outcome) Words() string {
	what := o.Result.Words()
	if o.Result == store.ReleaseSuccess {
		return fmt.Sprintf("%s on %s", what, Plural(len(o.Hosts), "host", "hosts"))
	}
	atStep := map[string][]string{}
	var steps []string
	notReached := 0
	for _, h := range o.Hosts {
		switch {
		case h.Status == HostSkipped:
			notReached++
		case h.Status == HostOK, h.Step == "", h.Step == rolledBackStep:
		default:
			if _, ok := atStep[h.Step]; !ok {
				steps = append(steps, h.Step)
			}
			atStep[h.Step] = append(atStep[h.Step], h.Host)
		}
	}
	var parts []string
	for _, s := range steps {
		verb := "failed"
		if o.hostStatus(atStep[s][0]) == HostCancelled {
			verb = "cancelled"
		}
		parts = append(parts, fmt.Sprintf("%s %s at %s", strings.Join(atStep[s], ", "), verb, s))
	}
	if notReached > 0 {
		parts = append(parts, Plural(notReached, "host", "hosts")+" not reached")
	}
	if len(parts) == 0 {
		return what
	}
	return what + ": " + strings.Join(parts, "; ")
}

func (o *Outcome) hostStatus(name string) store.HostStatus {
	for _, h := range o.Hosts {
		if h.Host == name {
			return h.Status
		}
	}
	return ""
}

// Plural is n and its noun in the right number: "1 host", "3 hosts".
func Plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// backError is a host's failure and what the switch back left, as one
// error: the record keeps both.
type backError struct {
	err  error
	back string // "rolled back to R: healthy"
	own  bool   // the host failed on its own (else another host did)
}

func (e *backError) Error() string {
	if e.own {
		return e.err.Error() + "; " + e.back
	}
	// Its error says where it was switched back to already.
	if _, state, ok := strings.Cut(e.back, ": "); ok {
		return e.err.Error() + "; " + state
	}
	return e.err.Error()
}

func (e *backError) Unwrap() error { return e.err }
