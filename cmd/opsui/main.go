// Command opsui is the terminal console for operating a web fleet: inventory,
// deploys, rollbacks and ad-hoc commands over SSH, with every release recorded.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

// stopSignals end a command as ctrl+c does: its context is cancelled and a
// deploy rolls back or finishes, releasing its locks and balancers. SIGHUP
// is among them: a dropped SSH session to a bastion sends it, and dying on
// it mid-batch would leave backends drained and hosts locked.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

func main() {
	// A closed stdout or stderr (`opsui deploy | tee log`, tee killed by
	// the same ctrl+c) must not kill opsui mid-deploy: with SIGPIPE
	// ignored a write fails with EPIPE, which the printers drop, and the
	// deploy's own cleanup and records go on.
	signal.Ignore(syscall.SIGPIPE)
	raiseFDLimit(os.Stderr)
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	cmd := newRootCmd(&cli{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	if err := cmd.ExecuteContext(ctx); err != nil {
		// A summary printed already is not said twice.
		if !errors.As(err, new(printedError)) {
			fmt.Fprintf(os.Stderr, "opsui: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}
