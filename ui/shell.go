package ui

import (
	"errors"
	"fmt"
	"os/exec"

	tea "charm.land/bubbletea/v2"

	"github.com/opsui/opsui/inventory"
)

// ShellFunc returns the command of an interactive shell on host, reaching
// it as the engine does (cmd/opsui: OpenSSH with the host's user, port,
// identity files, ProxyJump hosts and opsui's known hosts).
type ShellFunc func(host inventory.Host) (*exec.Cmd, error)

// ForwardFunc returns the command of a port forward from local on this
// machine to port on host's loopback (a database), reached as ShellFunc
// reaches it; it runs until interrupted.
type ForwardFunc func(host inventory.Host, port, local int) (*exec.Cmd, error)

// shellDoneMsg: the shell on host has ended; err is why it failed.
type shellDoneMsg struct {
	host string
	err  error
}

// openShell suspends the console and runs a shell on the focused host;
// the console comes back as it was when the shell ends. fleetActions
// checked that it is available and that there is a host.
func (a App) openShell() (tea.Model, tea.Cmd) { return a.openShellOn(a.fleet.Focused()) }

// openShellOn suspends the console for a shell on h (the palette's :shell web1).
func (a App) openShellOn(h inventory.Host) (tea.Model, tea.Cmd) {
	cmd, err := a.shell(h)
	if err != nil {
		a.notice = "shell on " + h.Name + ": " + err.Error()
		return a, nil
	}
	a.notice = ""
	name := h.Name
	return a, tea.ExecProcess(cmd, func(err error) tea.Msg { return shellDoneMsg{host: name, err: err} })
}

// shellDone says how a shell ended when it failed: ssh's own message went
// to the terminal the console has covered again.
func (a *App) shellDone(msg shellDoneMsg) tea.Cmd {
	if msg.err == nil {
		return nil
	}
	var exit *exec.ExitError
	if errors.As(msg.err, &exit) && exit.ExitCode() == 255 {
		return a.addToast(fmt.Sprintf("shell on %s: ssh failed (exit status 255): host unreachable, key refused or host key unknown", msg.host))
	}
	return a.addToast(fmt.Sprintf("shell on %s: %v", msg.host, msg.err))
}

// forwardDoneMsg: the forward to host has ended (ctrl+c, or it failed).
type forwardDoneMsg struct {
	what string
	err  error
}

// openForward suspends the console while a port forward runs in the
// terminal; ctrl+c ends it and the console comes back as it was.
func (a App) openForward(h inventory.Host, port, local int) (tea.Model, tea.Cmd) {
	cmd, err := a.forward(h, port, local)
	if err != nil {
		a.notice = "forward to " + h.Name + ": " + err.Error()
		return a, nil
	}
	a.notice = ""
	what := fmt.Sprintf("forward 127.0.0.1:%d → %s:%d", local, h.Name, port)
	return a, tea.ExecProcess(cmd, func(err error) tea.Msg { return forwardDoneMsg{what: what, err: err} })
}
