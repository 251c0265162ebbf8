package main

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/opsui/opsui/inventory"
	"github.com/opsui/opsui/ops"
	"github.com/opsui/opsui/ops/record"
	"github.com/opsui/opsui/ops/remote"
	"github.com/opsui/opsui/store"
)

func newCpCmd(c *cli) *cobra.Command {
	var (
		sel     selector
		ssh     sshFlags
		mode    string
		asJSON  bool
		yes     bool
		confirm []string
	)
	cmd := &cobra.Command{
		Use:   "cp LOCAL REMOTE_PATH [--env E] [--role R] [--host H,...]",
		Short: "Put a local file on many hosts at once, atomically",
		Long: `Copy one local file to an absolute path on the selected hosts concurrently.
Each host writes it to a temporary file in the destination's directory,
checks its size and SHA-256, gives it the local file's mode (or --mode) and
renames it over the destination: a reader sees the old file or the new one,
never a part, and a failed copy leaves nothing behind. The run is recorded
like an exec; the exit status is 1 when any host failed. On hosts of a
protected environment it asks for the environment's name as exec does
(--confirm-env NAME without a terminal).`,
		Example: `  opsui cp gunicorn.conf.py /srv/shop/shared/gunicorn.conf.py --env production --role web
  opsui cp motd /etc/motd --host web1,web2 --mode 0644`,
		Args: cobra.ExactArgs(2),
	}
	cmd.RunE = c.withStore(func(ctx context.Context, s *store.Store, args []string) error {
		req := ops.CopyRequest{Local: args[0], Remote: args[1], Options: remote.RunOptions{Parallel: ssh.parallel, Timeout: ssh.timeout}}
		if mode != "" {
			m, err := strconv.ParseUint(mode, 8, 32)
			if err != nil || m > 0o777 {
				return usageError{fmt.Errorf("--mode %q is not an octal permission mode (0000-0777)", mode)}
			}
			req.Mode = os.FileMode(m)
		}
		guard := func(f *inventory.Fleet, hosts []inventory.Host) error {
			return c.confirmOnProtected(f, hosts, "cp", fmt.Sprintf("copy %s to %s", req.Local, req.Remote), confirm, yes)
		}
		return c.runOnHosts(ctx, s, &sel, &ssh, asJSON, guard, func(svc *ops.Service, hosts []inventory.Host, emit func(remote.Event)) (remote.Result, *record.Recorder, error) {
			req.Hosts = hosts
			return svc.Copy(ctx, req, emit)
		})
	})
	sel.register(cmd)
	ssh.register(cmd)
	cmd.Flags().StringVar(&mode, "mode", "", "the file's mode on the hosts, in octal (default: the local file's)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per event, then the result")
	cmd.Flags().BoolVar(&yes, "yes", false, "do not ask (a protected environment must still be named with --confirm-env)")
	cmd.Flags().StringSliceVar(&confirm, "confirm-env", nil, "the name of each protected environment the hosts are in, as the confirmation")
	return cmd
}
