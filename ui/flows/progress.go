package flows

import "github.com/opsui/opsui/ops/remote"

// Progress is where a flow's work stands, for the console's header while
// the operator looks around the fleet: what it is, its last message
// ("batch 2/4: switching web1"), whether it waits for an answer (the
// canary's go-ahead) and, once it is over, how it ended.
type Progress struct {
	Kind, What string // "deploy", "app 1a2b3c4 to production"
	Last       string
	Asking     bool // the engine waits for the operator's answer
	Cancelling bool // the run view asks whether to cancel the work
	Over       bool
	Result     remote.Result
	Err        error
}

// ProgressOf is f's work's progress; false when f has started no work.
func ProgressOf(f Flow) (Progress, bool) {
	rf, ok := f.(interface{ running() *flowRunner })
	if !ok {
		return Progress{}, false
	}
	r := rf.running()
	if r == nil {
		return Progress{}, false
	}
	p := Progress{Kind: r.kind, What: r.feed.Command(), Asking: r.pending != nil, Cancelling: r.asking(), Over: r.done, Err: r.err}
	if last := r.log.last(1); len(last) > 0 {
		p.Last = last[0]
	}
	p.Result, _ = r.feed.Outcome()
	if p.Err == nil {
		p.Err = r.feed.Err()
	}
	return p, true
}
