// Command opsui is the terminal console for operating a web fleet: inventory,
// deploys, rollbacks and ad-hoc commands over SSH, with every release recorded.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd(&cli{stdout: os.Stdout, stderr: os.Stderr, stdin: os.Stdin})
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "opsui: %v\n", err)
		os.Exit(exitCode(err))
	}
}
