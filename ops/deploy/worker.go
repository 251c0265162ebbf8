package deploy

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/remote"
)

// StepWorkers is the stage that puts a worker host's workers on the
// release: after the batch's switch, reload and health check, on a
// deploy, a rollback, a resumed deploy and the switch back of an
// auto-rollback alike.
const StepWorkers = "workers"

// workerSlack is how long a workers stage may run beyond its processes'
// stop timeout: the manager's own calls, the start and its check.
const workerSlack = 2 * time.Minute

// WorkerChange is what a workers stage did on one host, parsed from the
// script's last line.
type WorkerChange struct {
	Host      string
	From, To  string // the releases the processes ran before and after ("none": no process)
	Processes int
	Kept      bool     // already on the release: left running
	Killed    []string // pids still running stop_timeout after TERM, killed
	Took      time.Duration
	// Want is the processes the fleet asks for: more than run means the
	// installed program is older than the fleet.
	Want int
}

// String says the change in the words the CLI, the console and the run's
// notes all show.
func (c WorkerChange) String() string {
	var s string
	procs := Plural(c.Processes, "process", "processes")
	switch {
	case c.Kept:
		s = fmt.Sprintf("%s: workers already on release %s (%s): left running", c.Host, c.To, procs)
	case c.To == "none":
		s = fmt.Sprintf("%s: workers stopped (they ran release %s)", c.Host, c.From)
	case c.From == "none":
		s = fmt.Sprintf("%s: workers release none -> %s (%s started)", c.Host, c.To, procs)
	default:
		s = fmt.Sprintf("%s: workers release %s -> %s (%s, stopped in %s)", c.Host, c.From, c.To, procs, c.Took)
	}
	if c.Want > c.Processes && c.To != "none" {
		s += fmt.Sprintf("; the fleet says %d: install the program opsui setup --print-supervisor prints", c.Want)
	}
	if len(c.Killed) > 0 {
		s += fmt.Sprintf("; %s killed with SIGKILL still running at stop_timeout", Plural(len(c.Killed), "process", "processes"))
	}
	return s
}

// parseWorkerSummary reads the script's "opsui-workers k=v ..." line.
func parseWorkerSummary(host, out string) (WorkerChange, bool) {
	c := WorkerChange{Host: host}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	rest, ok := strings.CutPrefix(last, "opsui-workers ")
	if !ok {
		return c, false
	}
	// from= may hold several releases, space-separated: split on the keys.
	vals := map[string]string{}
	keys := []string{"from=", "to=", "processes=", "kept=", "killed=", "secs=", "want="}
	for i, k := range keys {
		at := strings.Index(rest, k)
		if at < 0 {
			if k == "want=" {
				continue // only a start says it
			}
			return c, false
		}
		v := rest[at+len(k):]
		if i+1 < len(keys) {
			if end := strings.Index(v, " "+keys[i+1]); end >= 0 {
				v = v[:end]
			}
		}
		vals[k] = strings.TrimSpace(v)
	}
	c.From, c.To, c.Kept = vals["from="], vals["to="], vals["kept="] == "1"
	c.Processes, _ = strconv.Atoi(vals["processes="])
	c.Killed = strings.Fields(vals["killed="])
	c.Want, _ = strconv.Atoi(vals["want="])
	secs, _ := strconv.Atoi(vals["secs="])
	c.Took = time.Duration(secs) * time.Second
	return c, true
}

// workerEnv is the workers script's environment for w on host h.
func (r *runner) workerEnv(h *hostRun, w inventory.Worker, release, mode string) map[string]string {
	env := map[string]string{
		"DEPLOY_TO":              h.deployTo,
		"OPSUI_TARGET":           release,
		"OPSUI_WORKER_MODE":      mode,
		"OPSUI_WORKER_PM":        w.Process,
		"OPSUI_WORKER_TIMEOUT":   strconv.Itoa(w.StopTimeout),
		"OPSUI_WORKER_PROCESSES": strconv.Itoa(w.Processes),
		"OPSUI_WORKER_NAME":      w.Program,
		"OPSUI_WORKER_GROUP":     w.Group(),
		"OPSUI_SUPERVISOR_CONF":  w.Conf,
		"OPSUI_UNIT":             w.Unit,
		"OPSUI_WORKER_LAUNCH":    workerLaunch(h.deployTo, w.Command),
	}
	if w.Sudo && w.Process != inventory.ProcessDaemon {
		env["OPSUI_PM_SUDO"] = "1"
	}
	return env
}

// workersOn puts the workers of host h on release (mode "ensure") or stops
// them ("stop"), as stage; fail marks the host failed when it does not
// work (a deploy's or rollback's own step), else the failure is a note (a
// switch back). It reports whether it worked; a host without workers
// works.
func (r *runner) workersOn(ctx context.Context, h *hostRun, release, mode, stage string, fail bool) bool {
	w, ok := r.plan.Fleet.WorkerFor(r.plan.App.Name, h.host)
	if !ok {
		return true
	}
	if msg := inventory.WorkerCommandProblem(w.Command); msg != "" {
		err := fmt.Errorf("worker %s (fix the fleet file and import it again)", msg)
		if fail {
			r.fail(h, StepWorkers, remote.ClassExit, err)
		} else {
			r.notef("%s: %v", h.host.Name, err)
		}
		return false
	}
	r.events.stage(h, stage)
	timeout := time.Duration(w.StopTimeout)*time.Second + workerSlack
	out, ok := r.runStep(ctx, h, StepWorkers, workerScript, r.workerEnv(h, w, release, mode), timeout, nil, fail)
	r.clock.done(h.host.Name)
	if !ok {
		if !fail {
			r.notef("%s: workers could not be put on release %s (see its output)", h.host.Name, release)
		}
		return false
	}
	if c, parsed := parseWorkerSummary(h.host.Name, out); parsed {
		r.notef("%s", c)
	}
	return true
}

// restartWorkers puts the workers of batch's hosts on release once the
// batch's other steps ran: each live host current now points at release
// on, and each host a resumed deploy found done (an earlier attempt may
// have died between its switch and its workers).
func (r *runner) restartWorkers(ctx context.Context, batch []inventory.Host, release string) {
	var hs []*hostRun
	for _, ih := range batch {
		if h := r.byName[ih.Name]; h != nil {
			hs = append(hs, h)
		}
	}
	r.forEach(r.workersDue(hs), func(h *hostRun) {
		r.workersOn(ctx, h, release, "ensure", StepWorkers, true)
	})
}

// workersDue returns the hosts of hs that have workers and were switched
// (a release, or a config release's shared/.env) without failing.
func (r *runner) workersDue(hs []*hostRun) []*hostRun {
	var on []*hostRun
	for _, h := range hs {
		if _, ok := r.plan.Fleet.WorkerFor(r.plan.App.Name, h.host); !ok {
			continue
		}
		h.mu.Lock()
		due := !h.failed && h.switched
		h.mu.Unlock()
		if due {
			on = append(on, h)
		}
	}
	return on
}

// describeWorkers writes the workers stage of a dry run, numbered n: on
// which hosts, under which manager, how they stop.
func (p *Plan) describeWorkers(w io.Writer, n int) {
	var on []inventory.Host
	for _, h := range p.Hosts {
		if _, ok := p.Fleet.WorkerFor(p.App.Name, h); ok {
			on = append(on, h)
		}
	}
	if len(on) == 0 {
		return
	}
	fmt.Fprintf(w, "  %d. %s on %s, after each batch's switch, reload and health check\n", n, StepWorkers, hostNames(on))
	for _, h := range on {
		wk, _ := p.Fleet.WorkerFor(p.App.Name, h)
		how := map[string]string{inventory.ProcessSupervisord: "supervisord program " + wk.Program, inventory.ProcessSystemd: "systemd unit " + wk.Unit}[wk.Process]
		if how == "" {
			how = "daemon (pidfiles in shared/pids)"
		}
		if wk.Sudo && wk.Process != inventory.ProcessDaemon {
			how += " through sudo -n"
		}
		fmt.Fprintf(w, "       %s: %s, %s of %s: TERM, up to %ds to finish, then started in release %s\n",
			h.Name, how, Plural(wk.Processes, "process", "processes"), remote.Quote(wk.Command), wk.StopTimeout, p.ReleaseID)
	}
}
