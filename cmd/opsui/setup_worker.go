package main

import (
	"fmt"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops/deploy"
)

// printWorkers prints the supervisord program section or the systemd unit
// (process) of every worker host of env whose worker role says that
// process, after the n sections printed before it, and returns how many
// it printed.
func (c *cli) printWorkers(f *inventory.Fleet, a inventory.App, env, process string, n int) (int, error) {
	printed := 0
	for _, h := range f.Select(inventory.Filter{Env: env, Role: inventory.RoleWorker}) {
		w, ok := f.WorkerFor(a.Name, h)
		if !ok || w.Process != process {
			continue
		}
		var where, text string
		var err error
		switch process {
		case inventory.ProcessSupervisord:
			text, err = deploy.WorkerSupervisorProgram(f, a, h, h.User)
			where = fmt.Sprintf("; host %s: put this in supervisord's include directory as %s.conf, then: supervisorctl -c %s update (the first deploy starts it)", h.Name, w.Program, w.Conf)
		default:
			text, err = deploy.WorkerSystemdUnit(f, a, h, h.User)
			where = fmt.Sprintf("# host %s: put this in /etc/systemd/system/%s, then: systemctl daemon-reload && systemctl enable %s (the first deploy starts it)", h.Name, w.Unit, w.Unit)
		}
		if err != nil {
			return printed, inputError{err}
		}
		if n+printed > 0 {
			fmt.Fprintln(c.stdout)
		}
		fmt.Fprintf(c.stdout, "%s\n%s", where, text)
		printed++
	}
	return printed, nil
}
