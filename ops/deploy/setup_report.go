package deploy

import "strings"

// The words of a setup report, in the host's output, the run's record,
// the CLI and the console alike.
const (
	SetupDone  = "done"
	SetupWould = "would do" // done, under --dry-run
	SetupRight = "already right"
	SetupHuman = "needs a human"
)

// SetupItem is one finding of opsui setup on a host.
type SetupItem struct {
	Text string
	// Commands are what a human runs (needs a human), exactly.
	Commands []string
	// Diff is a short unified diff of a file on the host against what
	// opsui renders (a changed program, unit or upstream file).
	Diff []string
}

// SetupHostReport is what opsui setup found and did on one host, in three
// lists: done (would do, under --dry-run), already right, needs a human.
type SetupHostReport struct {
	Host               string
	Done, Right, Human []SetupItem
}

// Ready reports whether nothing on the host needs a human.
func (r SetupHostReport) Ready() bool { return len(r.Human) == 0 }

// ParseSetupOutput reads the report of host from the lines its setup
// script printed (setupPrelude); other lines are left out.
func ParseSetupOutput(host string, lines []string) SetupHostReport {
	r := SetupHostReport{Host: host}
	var last *SetupItem
	for _, l := range lines {
		if c, ok := strings.CutPrefix(l, "  $ "); ok && last != nil {
			last.Commands = append(last.Commands, c)
			continue
		}
		if d, ok := strings.CutPrefix(l, "  | "); ok && last != nil {
			last.Diff = append(last.Diff, d)
			continue
		}
		word, text, ok := strings.Cut(l, ": ")
		if !ok {
			last = nil
			continue
		}
		var list *[]SetupItem
		switch word {
		case SetupDone, SetupWould:
			list = &r.Done
		case SetupRight:
			list = &r.Right
		case SetupHuman:
			list = &r.Human
		default:
			last = nil
			continue
		}
		*list = append(*list, SetupItem{Text: text})
		last = &(*list)[len(*list)-1]
	}
	return r
}
