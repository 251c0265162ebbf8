package logs

import (
	"strings"

	"github.com/opsui/opsui/store"
)

// maxSampleLen bounds the sample line a sighting keeps.
const maxSampleLen = 1000

// HostRelease is what a host ran when an error was seen there: the app
// and environment it belongs to, the release current then and how that
// release is known.
type HostRelease struct {
	App, Env          string
	ReleaseID, Commit string
	From              store.ReleaseFrom
}

// Ties turns aggregated groups into sightings for the store
// (store.RecordErrorSignatures), each group tied to the release its first
// host ran; a group seen again is reported with only the occurrences not
// reported before. It is not safe for concurrent use.
type Ties struct {
	reported map[[3]string]int // app, env, signature: occurrences reported
}

// NewTies returns a Ties that has reported nothing.
func NewTies() *Ties { return &Ties{reported: map[[3]string]int{}} }

// Sightings returns what to record of groups: one sighting per error
// group (access-log statuses are not error signatures) with occurrences
// not yet reported. release says what a host ran (false: the
// host belongs to no app opsui knows, and its groups are left out). A
// group whose first occurrence was already in the file when it was read
// is marked store.FromBacklog when the release was read from the host:
// written under that release or before.
func (t *Ties) Sightings(groups []Group, release func(host string) (HostRelease, bool)) []store.ErrorSignature {
	var out []store.ErrorSignature
	for _, g := range groups {
		if g.IsAccess() {
			continue // a status on a path: the watch's 5xx rate, not an error signature
		}
		hr, ok := release(g.FirstHost)
		if !ok || g.FirstHost == "" {
			continue
		}
		sig := g.Signature()
		k := [3]string{hr.App, hr.Env, sig}
		delta := g.Count - t.reported[k]
		if delta <= 0 {
			continue
		}
		t.reported[k] = g.Count
		from := hr.From
		if g.FirstBacklog && hr.From == store.FromHost { // "from the record" already says it is not sure
			from = store.FromBacklog
		}
		sample := ""
		if len(g.Example) > 0 {
			sample = g.Example[len(g.Example)-1]
			if g.Traceback && g.Frame != "" {
				sample = g.Frame + "\n" + sample
			}
		}
		if len(sample) > maxSampleLen {
			sample = strings.ToValidUTF8(sample[:maxSampleLen], "")
		}
		out = append(out, store.ErrorSignature{App: hr.App, Env: hr.Env, Signature: sig, Summary: g.Summary, Frame: g.Frame,
			Sample: sample, FirstSeenAt: store.MillisOf(g.FirstSeen), FirstHost: g.FirstHost, FirstReleaseID: hr.ReleaseID,
			FirstCommit: hr.Commit, ReleaseFrom: from, Seen: int64(delta), LastSeenAt: store.MillisOf(g.LastSeen)})
	}
	return out
}

// Forget takes back sightings that could not be recorded (the store did
// not answer), so that the next Sightings reports their occurrences again.
func (t *Ties) Forget(sightings []store.ErrorSignature) {
	for _, s := range sightings {
		k := [3]string{s.App, s.Env, s.Signature}
		t.reported[k] = max(0, t.reported[k]-int(s.Seen))
	}
}
