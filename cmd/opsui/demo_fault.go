package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/internal/demofleet"
)

func newDemoFaultCmd(c *cli) *cobra.Command {
	var dir string
	var latency time.Duration
	cmd := &cobra.Command{
		Use:   "fault HOST down|hang|slow|ok",
		Short: "Inject a fault into one host of a running demo fleet",
		Long: `fault injects into one demo host the faults an on-call engineer must
recognise, each host being its own process:

  down  its SSH server stops: connections are refused
  hang  its SSH server is stopped with SIGSTOP: connections are accepted,
        then nothing comes back
  slow  its SSH server delays everything it sends (--latency, default 400ms)
  ok    back to normal; a down host is started again

Its services (gunicorn, nginx, memcached) keep running, as a machine's do
when only its sshd is in trouble. The demo is the one in --dir, or the one
whose database OPSUI_DB names (the demo's opsui wrapper and console set it).`,
		Example: `  opsui demo fault web2 down --dir /tmp/opsui-demo
  /tmp/opsui-demo/opsui demo fault web2 slow --latency 1s
  /tmp/opsui-demo/opsui demo fault web2 ok`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fault, err := demofleet.ParseFault(args[1])
			if err != nil {
				return usageError{err}
			}
			if cmd.Flags().Changed("latency") && fault != demofleet.FaultSlow {
				return usageError{fmt.Errorf("--latency is for the slow fault, not %s", fault)}
			}
			if latency <= 0 && cmd.Flags().Changed("latency") {
				return usageError{fmt.Errorf("--latency %v: want a positive duration such as 500ms", latency)}
			}
			if dir, err = demoDirOf(dir); err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
			defer cancel()
			msg, err := demofleet.InjectFault(ctx, dir, args[0], fault, latency)
			if err != nil {
				return fmt.Errorf("demo fault %s %s: %w", args[0], fault, err)
			}
			fmt.Fprintf(c.stdout, "opsui demo: %s\n", msg)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "the demo's directory (default: the one of $OPSUI_DB, as the demo's wrapper sets it)")
	cmd.Flags().DurationVar(&latency, "latency", demofleet.DefaultLatency, "the delay the slow fault adds")
	return cmd
}

// demoDirOf is the directory of the demo to act on: dir, else the one
// whose database OPSUI_DB names.
func demoDirOf(dir string) (string, error) {
	if dir == "" {
		db := os.Getenv("OPSUI_DB")
		if db == "" || filepath.Base(db) != demofleet.DBFile {
			return "", usageError{errors.New("which demo? give --dir DIR, or run it with the demo's own wrapper (DIR/opsui)")}
		}
		dir = filepath.Dir(db)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("demo directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(abs, demofleet.FleetFile)); err != nil {
		return "", fmt.Errorf("%s is not a demo directory: %w", abs, err)
	}
	return abs, nil
}
